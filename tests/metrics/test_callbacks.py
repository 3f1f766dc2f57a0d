"""EvaluationCallback: numbers every N epochs into History."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo.metrics import EvaluationCallback
from kzoo.metrics.callbacks import split_batch


def _validation():
    elements = []
    for i in range(4):
        boxes = np.array([[0.1 * i, 0.1, 0.1 * i + 0.4, 0.5]], np.float32)
        elements.append({"image": np.full((16, 16, 3), i, np.uint8), "boxes": boxes,
                         "classes": np.array([i % 2], np.int32), "image_id": np.int64(i)})
    return elements


def _predict(images):
    # Finds the object of the images with an even fill value and misses the others.
    fill = images[:, 0, 0, 0].astype(np.float32)
    boxes = np.stack([0.1 * fill, np.full_like(fill, 0.1), 0.1 * fill + 0.4, np.full_like(fill, 0.5)], -1)[:, None]
    return {"detection_boxes": boxes, "detection_scores": np.ones((len(fill), 1)),
            "detection_classes": np.where(fill % 2 == 0, fill % 2, 5 - fill)[:, None],
            "num_detections": np.ones(len(fill), np.int32)}


def test_logs_every_n_epochs_into_history():
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile("sgd", "mse")
    callback = EvaluationCallback(_validation(), _predict, every_n_epochs=2, batch_size=3)
    history = model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=4, verbose=0, callbacks=[callback])
    assert sorted(callback.results) == [1, 3]  # epochs 2 and 4 (0-based 1 and 3)
    # Class 0's object is found (AP 1), class 1's is not (AP 0): mean 0.5.
    assert history.history["val_AP"] == pytest.approx([0.5, 0.5])
    assert history.history["val_AR100"] == pytest.approx([0.5, 0.5])
    assert len(history.history["loss"]) == 4


def test_batched_dataset_and_custom_metrics():
    elements = _validation()
    dataset = tf.data.Dataset.from_tensor_slices({k: np.stack([e[k] for e in elements]) for k in elements[0]}).batch(3)
    seen = []

    def metrics_fn(groundtruth, predictions):
        seen.append((len(groundtruth), len(predictions)))
        return {"objects": sum(len(g["classes"]) for g in groundtruth)}

    callback = EvaluationCallback(dataset, _predict, metrics_fn=metrics_fn, prefix="eval_")
    logs = {}
    callback.on_epoch_end(0, logs)
    assert logs == {"eval_objects": 4.0} and seen == [(4, 4)]
    assert EvaluationCallback(dataset, _predict).evaluate()["AP"] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        EvaluationCallback(dataset, _predict, every_n_epochs=0)
    with pytest.raises(ValueError, match="batch size"):
        split_batch({"a": np.zeros(2), "b": np.zeros(3)})
