"""A training process killed at random moments, several times, resumes each time and loses no epoch."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from tests.helpers import REPO

EPOCHS = 8


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume(tmp_path):
    out = tmp_path / "run"
    command = [
        sys.executable, os.path.join(REPO, "recipes", "classifier.py"), "--dataset", "fashion_scenes/single_tiny",
        "--image-size", "32", "--epochs", str(EPOCHS), "--steps-per-epoch", "4", "--batch-size", "8",
        "--validation-steps", "1", "--out", str(out), "--verbose", "0",
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    rng = random.Random(0)
    kills = 0
    for _ in range(4):
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Past start-up (about 10 s), inside the epochs, where checkpoints and backups are written.
        time.sleep(rng.uniform(11.0, 20.0))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
    assert kills >= 2
    subprocess.run(command, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    history = json.loads((out / "history.json").read_text())["history"]
    assert len(history["loss"]) == EPOCHS and all(np.isfinite(v) for v in history["loss"])
    model = keras.saving.load_model(out / "last.keras", safe_mode=True)
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    assert not [name for name in os.listdir(out) if ".tmp-" in name]  # no temporaries left behind
