"""Load a kzoo ``.keras`` checkpoint together with the dataset it learned from."""

import os
import zipfile

import keras

import kzoo.models  # noqa: F401  (registers every kzoo class a checkpoint may hold)
from kzoo.data.checkpoint_record import read_record, remember_record


def load_checkpoint(path):
    """The model in the ``.keras`` checkpoint at ``path``, loaded with ``safe_mode=True``.

    The dataset record training stored in the file
    (``kzoo.data.checkpoint_record``) stays attached to the returned model, so
    ``kzoo.evaluation.evaluate_model`` scores it on its own dataset and
    ``kzoo.export`` labels its classes without being told
    (``keras.saving.load_model`` loads the same model without the record).

    Raises:
        ValueError: in one line, when ``path`` is missing, is not a ``.keras``
            archive or does not load.
    """
    if not os.path.exists(path):
        raise ValueError(f"no such checkpoint: {path}")
    if os.path.isdir(path) or not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a .keras checkpoint (a .keras file is a zip archive)")
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # noqa: BLE001  (reported in one line)
        raise ValueError(f"could not load {path}: {str(error).strip().splitlines()[0]}") from error
    remember_record(model, read_record(path))
    return model
