"""What every export checks and how it writes: finite weights, the umask's permissions, no stale temporaries.

- A model whose weights hold NaN or infinity (a diverged run's
  ``last.keras``) is refused before anything is written: it would serve
  NaN scores.
- Files and directories are staged under a temporary name that carries the
  writing process's id, then renamed into place; the staged copy gets the
  permissions the umask gives (``mkdtemp`` and ``mkstemp`` create them
  private to the owner, which a TF Serving process running as another user
  cannot read).
- Temporaries left by a killed export (their process is gone) are removed
  by the next export into the same place.
"""

import os
import re
import shutil

import numpy as np

STAGING = re.compile(r"^\..+\.tmp-(\d+)-")


def check_finite_weights(model):
    """Raise ``ValueError`` naming the first weight of ``model`` that holds NaN or infinity."""
    for variable in model.weights:
        value = np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable)
        if np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value)):
            raise ValueError(
                f"model {model.name!r} has non-finite weights ({variable.path}): the run diverged; "
                "use a checkpoint from before (best.keras) or retrain"
            )


def staging_prefix(name):
    """A temporary name's prefix for ``name``, marked with this process's id."""
    return f".{name}.tmp-{os.getpid()}-"


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(directory):
    """Delete the temporaries of exports into ``directory`` whose process is gone; returns their names."""
    removed = []
    if not os.path.isdir(directory):
        return removed
    for entry in os.listdir(directory):
        match = STAGING.match(entry)
        if match and not _alive(int(match.group(1))):
            path = os.path.join(directory, entry)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.remove(path)
            removed.append(entry)
    return removed


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path):
    """Give ``path`` (and everything under it) the permissions a plain create would: 0o777 / 0o666 less the umask."""
    mask = _umask()
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path):
            os.chmod(root, 0o777 & ~mask)
            for name in files:
                os.chmod(os.path.join(root, name), 0o666 & ~mask)
    else:
        os.chmod(path, 0o666 & ~mask)
