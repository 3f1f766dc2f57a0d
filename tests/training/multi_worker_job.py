"""One worker of a two-worker test cluster (run by tests/training/test_multi_worker.py).

    python multi_worker_job.py fit   INDEX PORT0 PORT1 OUT   # two epochs of a small dense model
    python multi_worker_job.py train INDEX PORT0 PORT1 OUT EPOCHS   # kzoo.training.train of the classifier
"""

import json
import os
import sys

import keras
import numpy as np
import tensorflow as tf

from kzoo.training.strategy import make_strategy

FEATURES = np.arange(64, dtype=np.float32).reshape(16, 4) / 64.0
TARGETS = np.stack([np.sin(FEATURES.sum(1)), np.cos(FEATURES[:, 0]), FEATURES[:, 1] ** 2], -1).astype(np.float32)


def dense_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    return model


def fit_dense(strategy=None):
    """Two epochs of two global batches of 8; returns the weights."""
    data = tf.data.Dataset.from_tensor_slices((FEATURES, TARGETS)).batch(8)
    if strategy is None:
        model = dense_model()
    else:
        with strategy.scope():
            model = dense_model()
    model.fit(data, epochs=2, verbose=0)
    return model.get_weights()


class FirstEpoch(keras.callbacks.Callback):
    """Writes the epoch this process started training at (after a restore, the backup's) into ``path``."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_epoch_begin(self, epoch, logs=None):
        if not os.path.exists(self.path):
            with open(self.path, "w") as handle:
                handle.write(str(epoch))


if __name__ == "__main__":
    mode, index, ports, out = sys.argv[1], int(sys.argv[2]), sys.argv[3:5], sys.argv[5]
    os.environ["TF_CONFIG"] = json.dumps({
        "cluster": {"worker": [f"localhost:{port}" for port in ports]}, "task": {"type": "worker", "index": index},
    })
    strategy = make_strategy()
    assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
    if mode == "fit":
        np.savez(os.path.join(out, f"weights_{index}.npz"), *fit_dense(strategy))
    else:
        from kzoo.training import train

        train("classifier", os.path.join(out, "run"), epochs=int(sys.argv[6]), batch_size=8,
              dataset="fashion_scenes/single_tiny", verbose=0,
              callbacks=[FirstEpoch(os.path.join(out, f"first_epoch_{index}_{os.getpid()}.txt"))],
              model_kwargs={"backbone": "tiny", "input_shape": (32, 32, 3)})
    print("finished", flush=True)
