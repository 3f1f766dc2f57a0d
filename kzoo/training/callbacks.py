"""Callbacks every recipe uses: checkpoints, resumption, logs, NaN guard."""

import math
import os

import keras


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


class SaveModel(keras.callbacks.Callback):
    """Saves a model as ``.keras`` after each epoch (or when ``monitor`` improves), atomically.

    The saved model may differ from the one ``fit`` trains: a region-based
    detector trains its training graph and saves its inference graph, which
    shares the weights. The file is written under a temporary name beside
    ``path`` and renamed into place, so a killed process leaves the previous
    checkpoint or the new one, never a partial file.

    Args:
        path: the ``.keras`` file.
        model: the model to save; the model being fit when None.
        monitor: a log to watch (``"val_loss"``); None saves every epoch.
    """

    def __init__(self, path, model=None, monitor=None):
        super().__init__()
        self.path = path
        self.saved_model = model
        self.monitor = monitor
        self.best = math.inf

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor is not None:
            value = (logs or {}).get(self.monitor)
            if value is None or not math.isfinite(float(value)) or float(value) >= self.best:
                return
            self.best = float(value)
        model = self.saved_model if self.saved_model is not None else self.model
        directory, name = os.path.split(os.path.abspath(self.path))
        staging = os.path.join(directory, f".{name[:-len('.keras')]}.tmp-{os.getpid()}.keras")
        try:
            model.save(staging)
            os.replace(staging, self.path)
        finally:
            if os.path.exists(staging):
                os.remove(staging)


def standard_callbacks(out_dir, monitor="val_loss", saved_model=None):
    """Checkpoints, resumable state, TensorBoard logs and the NaN guard under ``out_dir``.

    - ``out_dir/last.keras``: the model after every epoch.
    - ``out_dir/best.keras``: the best model by ``monitor``.
    - ``out_dir/backup/``: ``BackupAndRestore`` state (of the model being
      fit, optimizer included); a killed run resumes from its last finished
      epoch when started again with the same ``out_dir``.
    - ``out_dir/logs/``: TensorBoard scalars.

    ``saved_model`` is the model the checkpoints hold when it is not the one
    being fit (a region-based detector's inference graph).
    """
    os.makedirs(out_dir, exist_ok=True)
    return [
        keras.callbacks.BackupAndRestore(os.path.join(out_dir, "backup")),
        SaveModel(os.path.join(out_dir, "last.keras"), saved_model),
        SaveModel(os.path.join(out_dir, "best.keras"), saved_model, monitor=monitor),
        keras.callbacks.TensorBoard(os.path.join(out_dir, "logs"), write_graph=False),
        NaNGuard(),
    ]
