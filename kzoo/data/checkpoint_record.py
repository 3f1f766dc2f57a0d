"""Which dataset a checkpoint learned from, kept inside its ``.keras`` file.

Training writes ``kzoo_dataset.json`` into every checkpoint it saves (a
``.keras`` file is a zip archive; Keras reads only its own entries, so the
file still loads anywhere). It holds the dataset's name (a folder as an
absolute path) and its class names, so that evaluation, export labels and
int8 calibration follow the model's own data without flags, and asking for
a dataset with other classes is an error rather than silently wrong labels.

In memory the record travels with the model object: ``kzoo.training.train``
and ``kzoo.load_checkpoint`` attach it (``remember_record``), and
``kzoo.evaluation`` and ``kzoo.export`` read it (``record_of``), so the
Python API follows the model's data as the command line does.
"""

import json
import os
import weakref
import zipfile

RECORD_FILE = "kzoo_dataset.json"

# model -> record, for models in memory; an entry goes when its model does.
_RECORDS = weakref.WeakKeyDictionary()


def dataset_record(name, class_names):
    """The record of dataset ``name`` with ``class_names``; a folder's name is made absolute."""
    if os.path.isdir(name):
        name = os.path.abspath(name)
    return {"dataset": name, "class_names": [str(c) for c in class_names]}


def write_record(path, record):
    """Add ``record`` to the ``.keras`` archive at ``path`` (written before it is renamed into place)."""
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(RECORD_FILE, json.dumps(record))


def read_record(path):
    """The record in the ``.keras`` archive at ``path``, or None (a checkpoint saved outside kzoo's training)."""
    try:
        with zipfile.ZipFile(path) as archive:
            if RECORD_FILE not in archive.namelist():
                return None
            return json.loads(archive.read(RECORD_FILE))
    except (OSError, zipfile.BadZipFile, ValueError):
        return None


def remember_record(model, record):
    """Attach ``record`` (or nothing, when None) to the in-memory ``model``."""
    if record is not None:
        _RECORDS[model] = record


def record_of(model):
    """The record attached to ``model`` by ``remember_record``, or None."""
    return _RECORDS.get(model)


def resolve_dataset(requested, record, default, class_names_of):
    """The dataset to evaluate, label or calibrate with.

    Args:
        requested: the dataset the user asked for, or None.
        record: the checkpoint's record, or None.
        default: the model's registered dataset, used when there is neither.
        class_names_of: ``name -> class names`` (``kzoo.data.info(name).class_names``).

    Raises:
        ValueError: when ``requested`` has other classes than the checkpoint learned.
    """
    if record is None:
        return requested or default
    if requested is None:
        return record["dataset"]
    names = [str(c) for c in class_names_of(requested)]
    if names != record["class_names"]:
        raise ValueError(
            f"the checkpoint learned the {len(record['class_names'])} classes of {record['dataset']} "
            f"({', '.join(record['class_names'][:5])}{', ...' if len(record['class_names']) > 5 else ''}); "
            f"{requested} has other classes ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})"
        )
    return requested
