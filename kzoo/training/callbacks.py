"""Callbacks every recipe uses: checkpoints, resumption, logs, NaN guard.

Everything they write goes to a temporary name beside its target and is
renamed into place (``kzoo.staging``), so a process killed at any moment
leaves the old file or the new one, and the next run removes the killed
one's temporaries; nothing holding NaN or infinite weights is written.
"""

import json
import math
import os
import warnings

import keras
import numpy as np

from kzoo.data.checkpoint_record import write_record
from kzoo.models.weights import non_finite_weight
from kzoo.staging import replace_atomically


class NaNGuard(keras.callbacks.Callback):
    """Stops training at the first non-finite loss and remembers where.

    Unlike ``TerminateOnNaN`` it lets the caller fail loudly after ``fit``
    returns (see ``kzoo.training.train``), while the checkpoint of the last
    good epoch stays on disk.
    """

    def __init__(self):
        super().__init__()
        self.bad_batch = None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.bad_batch = batch
            self.model.stop_training = True


class SafeBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` whose files are replaced atomically, never with non-finite weights.

    A kill while the backup is written leaves the previous backup; a backup
    that cannot be read anyway (written by an older version, or a disk
    error) is set aside with a warning and the run starts from scratch,
    instead of failing on every rerun. The weights file is replaced before
    the epoch counter, so a kill between the two repeats an epoch rather
    than skipping one.

    With ``writer=False`` (a worker other than the chief of a multi-worker
    run) the callback restores from the chief's backup but never writes or
    deletes it.
    """

    def __init__(self, backup_dir, writer=True, **kwargs):
        super().__init__(backup_dir, **kwargs)
        self.writer = writer

    def on_train_end(self, logs=None):
        if self.writer:
            super().on_train_end(logs)

    def _save_model(self):
        if not self.writer or non_finite_weight(self.model) is not None:
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        replace_atomically(lambda p: self.model.save_weights(p), self._weights_path, ".weights.h5")
        metadata = json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen})

        def write_metadata(p):
            with open(p, "w") as handle:
                handle.write(metadata)

        replace_atomically(write_metadata, self._training_metadata_path, ".json")

    def on_train_begin(self, logs=None):
        try:
            super().on_train_begin(logs)
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as error:
            aside = f"{self.backup_dir.rstrip(os.sep)}.unreadable-{os.getpid()}"
            os.replace(self.backup_dir, aside)
            warnings.warn(f"the backup in {self.backup_dir} could not be read ({error}); moved it to {aside} "
                          "and starting from scratch", stacklevel=2)
            self.model._initial_epoch = 0


class HistoryFile(keras.callbacks.Callback):
    """Writes ``history.json`` after every epoch, keeping the epochs of earlier runs of a resumed training.

    Epoch ``e``'s logs go to index ``e`` of each list (so a resumed run
    overwrites what it repeats and appends the rest); ``extra`` fields
    (model name, replicas) sit beside ``history``.
    """

    def __init__(self, path, extra=None):
        super().__init__()
        self.path = path
        self.extra = dict(extra or {})

    def read(self):
        """The history so far (empty when there is no file)."""
        if not os.path.exists(self.path):
            return {}
        with open(self.path) as handle:
            return json.load(handle).get("history", {})

    def on_epoch_end(self, epoch, logs=None):
        history = self.read()
        for key, value in (logs or {}).items():
            values = history.setdefault(key, [])
            del values[epoch:]
            values.extend([None] * (epoch - len(values)))
            values.append(_jsonable(value))
        record = json.dumps({**self.extra, "history": history}, indent=1)

        def write(p):
            with open(p, "w") as handle:
                handle.write(record)

        replace_atomically(write, self.path, ".json")


def _jsonable(value):
    value = np.asarray(value)
    return float(value) if value.ndim == 0 else [float(v) for v in value.ravel()]


class SaveModel(keras.callbacks.Callback):
    """Saves a model as ``.keras`` after each epoch (or when ``monitor`` improves), atomically.

    The saved model may differ from the one ``fit`` trains: a region-based
    detector trains its training graph and saves its inference graph, which
    shares the weights. The file is written under a temporary name beside
    ``path`` and renamed into place, so a killed process leaves the previous
    checkpoint or the new one, never a partial file. Non-finite weights (a
    run that diverged in this epoch) are never saved: the file keeps the
    last finite state.

    Args:
        path: the ``.keras`` file.
        model: the model to save; the model being fit when None.
        monitor: a log to watch (``"val_loss"``); None saves every epoch.
        record: the dataset record (``kzoo.data.checkpoint_record``) stored
            in the file, or None.
    """

    def __init__(self, path, model=None, monitor=None, record=None):
        super().__init__()
        self.path = path
        self.saved_model = model
        self.monitor = monitor
        self.record = record
        self.best = math.inf

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor is not None:
            value = (logs or {}).get(self.monitor)
            if value is None or not math.isfinite(float(value)) or float(value) >= self.best:
                return
            self.best = float(value)
        model = self.saved_model if self.saved_model is not None else self.model
        if non_finite_weight(model) is not None:
            return
        def write(staging):
            model.save(staging)
            if self.record is not None:
                write_record(staging, self.record)

        replace_atomically(write, self.path, ".keras")


def standard_callbacks(out_dir, monitor="val_loss", saved_model=None, history_extra=None, record=None, chief=True):
    """Checkpoints, resumable state, TensorBoard logs and the NaN guard under ``out_dir``.

    - ``out_dir/last.keras``: the model after every epoch.
    - ``out_dir/best.keras``: the best model by ``monitor``.
    - ``out_dir/backup/``: ``BackupAndRestore`` state (of the model being
      fit, optimizer included); a killed run resumes from its last finished
      epoch when started again with the same ``out_dir``.
    - ``out_dir/logs/``: TensorBoard scalars.
    - ``out_dir/history.json``: every epoch's logs, across resumes
      (``history_extra`` fields beside them).

    ``saved_model`` is the model the checkpoints hold when it is not the one
    being fit (a region-based detector's inference graph); ``record`` (the
    dataset and its class names, ``kzoo.data.checkpoint_record``) goes into
    both checkpoints. In a multi-worker run only the ``chief`` writes; the
    other workers get the backup (to restore from) and the NaN guard.
    """
    if not chief:
        return [SafeBackupAndRestore(os.path.join(out_dir, "backup"), writer=False), NaNGuard()]
    os.makedirs(out_dir, exist_ok=True)
    return [
        SafeBackupAndRestore(os.path.join(out_dir, "backup")),
        HistoryFile(os.path.join(out_dir, "history.json"), history_extra),
        SaveModel(os.path.join(out_dir, "last.keras"), saved_model, record=record),
        SaveModel(os.path.join(out_dir, "best.keras"), saved_model, monitor=monitor, record=record),
        keras.callbacks.TensorBoard(os.path.join(out_dir, "logs"), write_graph=False),
        NaNGuard(),
    ]
