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


def standard_callbacks(out_dir, monitor="val_loss"):
    """Checkpoints, resumable state, TensorBoard logs and the NaN guard under ``out_dir``.

    - ``out_dir/last.keras``: the model after every epoch.
    - ``out_dir/best.keras``: the best model by ``monitor``.
    - ``out_dir/backup/``: ``BackupAndRestore`` state; a killed run resumes
      from its last finished epoch when started again with the same ``out_dir``.
    - ``out_dir/logs/``: TensorBoard scalars.
    """
    os.makedirs(out_dir, exist_ok=True)
    return [
        keras.callbacks.BackupAndRestore(os.path.join(out_dir, "backup")),
        keras.callbacks.ModelCheckpoint(os.path.join(out_dir, "last.keras")),
        keras.callbacks.ModelCheckpoint(os.path.join(out_dir, "best.keras"), monitor=monitor, save_best_only=True),
        keras.callbacks.TensorBoard(os.path.join(out_dir, "logs"), write_graph=False),
        NaNGuard(),
    ]
