"""MultiWorkerMirroredStrategy, tested: two worker processes on the loopback address (TF_CONFIG)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from kzoo.training.multi_worker import is_chief
from tests.training import multi_worker_job

JOB = os.path.join(os.path.dirname(__file__), "multi_worker_job.py")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def _free_ports(count=2):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [str(s.getsockname()[1]) for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _start_workers(mode, out, *extra):
    ports = _free_ports()
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return [
        subprocess.Popen([sys.executable, JOB, mode, str(i), *ports, str(out), *extra], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for i in range(2)
    ]


def _wait(workers, timeout=600):
    outputs = [w.communicate(timeout=timeout)[0] for w in workers]
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output[-3000:]
    return outputs


def test_only_the_chief_writes(monkeypatch):
    cluster = {"worker": ["a:1", "b:2"]}
    for task, chief in [({"type": "worker", "index": 0}, True), ({"type": "worker", "index": 1}, False)]:
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
        assert is_chief() is chief
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"chief": ["c:0"], **cluster},
                                                "task": {"type": "worker", "index": 0}}))
    assert not is_chief()
    monkeypatch.delenv("TF_CONFIG")
    assert is_chief()


@pytest.mark.slow
def test_two_workers_train_to_the_weights_of_one_worker_on_the_global_batch(tmp_path):
    _wait(_start_workers("fit", tmp_path))
    expected = multi_worker_job.fit_dense()
    for index in range(2):
        got = np.load(tmp_path / f"weights_{index}.npz")
        for i, value in enumerate(expected):
            np.testing.assert_allclose(got[f"arr_{i}"], value, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_a_killed_worker_restarts_and_the_cluster_resumes_from_the_backup(tmp_path):
    epochs = 6
    metadata = tmp_path / "run" / "backup" / "training_metadata.json"
    workers = _start_workers("train", tmp_path, str(epochs))
    deadline = time.time() + 600
    while not (metadata.exists() and json.loads(metadata.read_text())["epoch"] >= 2):
        assert time.time() < deadline and all(w.poll() is None for w in workers), "no backup was written"
        time.sleep(0.2)
    workers[1].send_signal(signal.SIGKILL)  # one machine fails mid-run...
    workers[1].wait()
    workers[0].send_signal(signal.SIGKILL)  # ...and the cluster is restarted, as TF's fault tolerance expects
    workers[0].wait()
    backed_up = json.loads(metadata.read_text())["epoch"]
    assert backed_up < epochs

    _wait(_start_workers("train", tmp_path, str(epochs)))
    restarted = sorted(int(p.read_text()) for p in tmp_path.glob("first_epoch_*.txt"))
    assert restarted == [0, 0, backed_up, backed_up]  # both workers of the second run start at the backup
    history = json.loads((tmp_path / "run" / "history.json").read_text())["history"]
    assert len(history["loss"]) == epochs and all(np.isfinite(history["loss"]))
    assert (tmp_path / "run" / "last.keras").exists() and not metadata.exists()  # the finished run cleans up
    assert not list((tmp_path / "run").glob("*worker*"))
