"""What every export checks before it writes: finite weights.

A model whose weights hold NaN or infinity (a diverged run's ``last.keras``)
is refused before anything is written: it would serve NaN scores. How
exports write (staging names, the umask, stale temporaries) is
``kzoo.staging``.
"""

import numpy as np


def check_finite_weights(model):
    """Raise ``ValueError`` naming the first weight of ``model`` that holds NaN or infinity."""
    for variable in model.weights:
        value = np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable)
        if np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value)):
            raise ValueError(
                f"model {model.name!r} has non-finite weights ({variable.path}): the run diverged; "
                "use a checkpoint from before (best.keras) or retrain"
            )
