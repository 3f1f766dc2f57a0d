"""Whether a model's weights are finite: what checkpoints, backups, exports and evaluation check first.

A run whose loss became NaN leaves NaN (or infinite) weights: such a model is
never saved as a checkpoint or backup (``kzoo.training.callbacks``), never
exported and never evaluated (``kzoo export``, ``kzoo evaluate``).
"""

import numpy as np


def non_finite_weight(model):
    """The path of the first floating-point weight of ``model`` holding NaN or infinity, or None."""
    for variable in model.weights:
        value = np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable)
        if np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value)):
            return variable.path
    return None


def check_finite_weights(model):
    """Raise ``ValueError`` naming the first weight of ``model`` that holds NaN or infinity."""
    path = non_finite_weight(model)
    if path is not None:
        raise ValueError(
            f"model {model.name!r} has non-finite weights ({path}): the run diverged; "
            "use a checkpoint from before (best.keras) or retrain"
        )
