import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo.training import callbacks as callbacks_module
from kzoo.training import train

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATASET = "fashion_scenes/single_tiny"
SMALL = {"backbone": "tiny", "input_shape": (32, 32, 3)}


def test_recipe_runs_under_mirrored_strategy_on_two_replicas(tmp_path):
    out = tmp_path / "run"
    command = [
        sys.executable, os.path.join(REPO, "recipes", "classifier.py"),
        "--cpu-replicas", "2", "--dataset", DATASET, "--image-size", "32", "--epochs", "1",
        "--steps-per-epoch", "3", "--batch-size", "8", "--validation-steps", "1", "--out", str(out), "--verbose", "0",
    ]
    subprocess.run(command, check=True, cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    record = json.loads((out / "history.json").read_text())
    assert record["replicas"] == 2
    history = record["history"]
    # Each replica computed half of every global batch of 8, three steps.
    assert history["replica_0_examples"][-1] == history["replica_1_examples"][-1] == 12.0
    for name in ("last.keras", "best.keras", "logs"):
        assert (out / name).exists(), name
    # A recipe's checkpoint, with its compiled loss and metrics, loads after a plain `import kzoo`.
    load = f"import kzoo, keras; keras.saving.load_model({str(out / 'best.keras')!r}, safe_mode=True)"
    subprocess.run([sys.executable, "-c", load], check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


class _Crash(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt("killed")


def test_killed_run_resumes_from_its_last_epoch(tmp_path, monkeypatch):
    standard = callbacks_module.standard_callbacks
    monkeypatch.setattr("kzoo.training.trainer.standard_callbacks", lambda out_dir, **kw: standard(out_dir, **kw) + [_Crash()])
    with pytest.raises(KeyboardInterrupt):
        train("classifier", str(tmp_path), model_kwargs=SMALL, epochs=3, batch_size=8, steps_per_epoch=2,
              validation_steps=1, dataset=DATASET, verbose=0)
    assert (tmp_path / "last.keras").exists()
    monkeypatch.setattr("kzoo.training.trainer.standard_callbacks", standard)
    first = json.loads((tmp_path / "history.json").read_text())["history"]
    assert len(first["loss"]) == 1
    _, history = train("classifier", str(tmp_path), model_kwargs=SMALL, epochs=3, batch_size=8, steps_per_epoch=2,
                       validation_steps=1, dataset=DATASET, verbose=0)
    # Epoch 0 was restored from the backup: only epochs 1 and 2 ran again, and history.json keeps all three.
    assert len(history["loss"]) == 3 and history["loss"][0] == first["loss"][0]
    assert json.loads((tmp_path / "history.json").read_text())["history"] == history


def test_an_unreadable_backup_is_set_aside_and_the_run_starts_again(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "latest.weights.h5").write_bytes(b"half of an HDF5 file")  # a kill in the middle of a write
    (backup / "training_metadata.json").write_text('{"epoch": 0, "batch": -1}')
    with pytest.warns(UserWarning, match="could not be read"):
        _, history = train("classifier", str(tmp_path), model_kwargs=SMALL, epochs=2, batch_size=8,
                           steps_per_epoch=2, validation_steps=1, dataset=DATASET, verbose=0)
    assert len(history["loss"]) == 2 and (tmp_path / "last.keras").exists()


def test_nan_loss_stops_with_an_error_and_keeps_the_last_good_checkpoint(tmp_path):
    def compile_with_nan_after_two_steps(model, strategy):
        optimizer = keras.optimizers.SGD(1e-3)

        def loss(y_true, logits):
            base = keras.losses.sparse_categorical_crossentropy(y_true, logits, from_logits=True)
            poison = tf.where(optimizer.iterations >= 2, np.nan, 0.0)
            return base + poison

        model.compile(optimizer=optimizer, loss=loss)

    with pytest.raises(FloatingPointError, match="last good checkpoint"):
        train("classifier", str(tmp_path), compile_fn=compile_with_nan_after_two_steps, model_kwargs=SMALL,
              epochs=3, batch_size=8, steps_per_epoch=2, validation_steps=1, dataset=DATASET, verbose=0)
    # Epoch 0 (steps 0-1) finished with finite loss and was checkpointed; the NaN epoch was not.
    assert (tmp_path / "last.keras").exists()
    last = keras.saving.load_model(tmp_path / "last.keras", safe_mode=True, compile=False)
    assert all(np.all(np.isfinite(w)) for w in last.get_weights())


def test_a_frozen_backbone_stays_as_it_was_through_training_and_its_checkpoint(tmp_path):
    model, _ = train("classifier", str(tmp_path), model_kwargs=SMALL, epochs=1, batch_size=8, steps_per_epoch=2,
                     validation_steps=1, dataset=DATASET, verbose=0, freeze_backbone="batch_norm")
    last = keras.saving.load_model(tmp_path / "last.keras", safe_mode=True, compile=False)
    for trained in (model, last):
        batch_norms = [w for w in trained.non_trainable_weights if "moving" in w.path]
        assert batch_norms
        # In inference mode the statistics never move from their initial zeros and ones.
        assert all(np.all(np.array(w) == (0.0 if "mean" in w.path else 1.0)) for w in batch_norms)
