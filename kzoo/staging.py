"""Writing files so that a kill never leaves a broken one: staging names, stale temporaries, the umask.

Every checkpoint, backup and export is written under a temporary name in
the directory of its target, then renamed into place, so a process killed
at any moment leaves the old file or the new one. Temporary names carry the
writer's process id (``.<name>.tmp-<pid>-<random>``), so that the next
writer can remove those of processes that are gone, and staged files are
given the permissions the umask gives before they are renamed (``mkdtemp``
and ``mkstemp`` make them private to their owner). This module imports
nothing from kzoo: export and training both use it.
"""

import os
import re
import shutil
import tempfile

STAGING = re.compile(r"^\..+\.tmp-(\d+)-")


def staging_prefix(name):
    """The prefix of a temporary name for ``name``, marked with this process's id."""
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
    """Delete the temporaries in ``directory`` whose writing process is gone; returns their names."""
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
        for root, _, files in os.walk(path):
            os.chmod(root, 0o777 & ~mask)
            for name in files:
                os.chmod(os.path.join(root, name), 0o666 & ~mask)
    else:
        os.chmod(path, 0o666 & ~mask)


def replace_atomically(write, path, suffix=""):
    """``write(staging_path)``, then rename the staged file to ``path``; the staged file is removed on failure.

    ``suffix`` ends the temporary name (some writers need an extension, like
    ``.keras`` or ``.weights.h5``). Stale temporaries of dead writers in the
    same directory are removed first.
    """
    directory, name = os.path.split(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    remove_stale_staging(directory)
    fd, staging = tempfile.mkstemp(prefix=staging_prefix(name), suffix=suffix, dir=directory)
    os.close(fd)
    try:
        write(staging)
        apply_umask(staging)
        os.replace(staging, path)
    finally:
        if os.path.exists(staging):
            os.remove(staging)
