"""Detector losses against written-out NumPy references, and on images without or with bad boxes."""

import math

import numpy as np
import pytest
import tensorflow as tf

import kzoo
from kzoo.models.detection import HardNegativeSoftmaxLoss, YoloLoss, hard_negative_softmax_loss
from kzoo.models.detection.yolo_loss import yolo_loss_terms
from kzoo.models.registry import get_spec


def np_log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def np_hard_negative_loss(labels, logits, ratio):
    total, positives = 0.0, 0
    for image_labels, image_logits in zip(labels, logits):
        ce = -np.take_along_axis(np_log_softmax(image_logits), np.maximum(image_labels, 0)[:, None], 1)[:, 0]
        pos = image_labels > 0
        negatives = np.flatnonzero(image_labels == 0)
        hardest = negatives[np.argsort(-ce[negatives], kind="stable")][: int(math.ceil(ratio * pos.sum()))]
        total += ce[pos].sum() + ce[hardest].sum()
        positives += pos.sum()
    return total / positives if positives else 0.0


def test_hard_negative_loss_hand_computed():
    # One positive, two negatives, one ignored; uniform logits: every kept anchor costs log 3.
    value = hard_negative_softmax_loss([[2, 0, 0, -1]], tf.zeros([1, 4, 3]))
    np.testing.assert_allclose(value, 3 * math.log(3), rtol=1e-6)
    # Ratio 1 keeps only the hardest negative: anchor 2 (it gives background the lowest score).
    logits = tf.constant([[[0.0, 0.0, 5.0], [3.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    value = hard_negative_softmax_loss([[2, 0, 0]], logits, negative_ratio=1.0, reduction="none")
    assert value.numpy()[0, 1] == 0.0 and value.numpy()[0, 2] > 0.0
    assert hard_negative_softmax_loss([[0, 0, -1]], tf.ones([1, 3, 3])).numpy() == 0.0


def test_hard_negative_loss_matches_numpy_reference():
    rng = np.random.default_rng(3)
    labels = rng.choice([-1, 0, 0, 0, 0, 0, 1, 2], size=(3, 40)).astype(np.int32)
    labels[2] = np.where(labels[2] > 0, 0, labels[2])  # an image without positives
    logits = rng.normal(size=(3, 40, 3)).astype(np.float32)
    want = np_hard_negative_loss(labels, logits, 3.0)
    np.testing.assert_allclose(hard_negative_softmax_loss(labels, logits), want, rtol=1e-5)
    keras_value = HardNegativeSoftmaxLoss(3.0)(labels.astype(np.float32), logits)
    np.testing.assert_allclose(keras_value, want, rtol=1e-5)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_yolo_loss(cells, output, boxes_per_cell, coord=5.0, noobj=0.5):
    """YOLO v1's loss with explicit loops over images, cells and predictors."""
    n, s, _, _ = output.shape
    total = np.zeros(n)
    for i in range(n):
        for r in range(s):
            for c in range(s):
                cell, out = cells[i, r, c], output[i, r, c]
                probs = np.exp(out[5 * boxes_per_cell:]) / np.exp(out[5 * boxes_per_cell:]).sum()
                preds = sigmoid(out[: 5 * boxes_per_cell].reshape(boxes_per_cell, 5))
                ious = []
                for p in preds:
                    cy, cx, h, w = (r + p[0]) / s, (c + p[1]) / s, p[2] ** 2, p[3] ** 2
                    ious.append(np_iou_one([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], cell[:4]))
                responsible = int(np.argmax(ious)) if cell[4] == 1 else -1
                for b, p in enumerate(preds):
                    if b == responsible:
                        g = cell[:4]
                        ty, tx = (g[0] + g[2]) / 2 * s - r, (g[1] + g[3]) / 2 * s - c
                        th, tw = np.sqrt(g[2] - g[0]), np.sqrt(g[3] - g[1])
                        total[i] += coord * ((p[0] - ty) ** 2 + (p[1] - tx) ** 2 + (p[2] - th) ** 2 + (p[3] - tw) ** 2)
                        total[i] += (p[4] - ious[b]) ** 2
                    else:
                        total[i] += noobj * p[4] ** 2
                if cell[4] == 1:
                    total[i] += ((probs - np.eye(len(probs))[int(cell[5])]) ** 2).sum()
    return total


def np_iou_one(a, b):
    h = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    w = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - h * w
    return h * w / union if union > 0 else 0.0


def test_yolo_loss_matches_numpy_reference():
    rng = np.random.default_rng(0)
    s, b, c = 3, 2, 4
    cells = np.zeros((2, s, s, 6), np.float32)
    cells[..., 5] = -1
    cells[0, 1, 2] = [0.35, 0.7, 0.6, 0.95, 1, 3]
    cells[0, 0, 0] = [0.0, 0.05, 0.2, 0.3, 1, 0]
    cells[1, 2, 1] = [0.7, 0.4, 0.9, 0.55, 1, 2]
    output = rng.normal(size=(2, s, s, 5 * b + c)).astype(np.float32)
    want = np_yolo_loss(cells, output, b)
    got = tf.add_n(list(yolo_loss_terms(cells, output, b).values()))
    np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_allclose(YoloLoss(b)(cells, output), want.mean(), rtol=1e-5)


def test_yolo_loss_without_objects_is_only_the_no_object_term():
    cells = np.zeros((1, 7, 7, 6), np.float32)
    cells[..., 5] = -1
    terms = yolo_loss_terms(cells, tf.zeros([1, 7, 7, 2 * 5 + 3]), 2)
    assert terms["coordinates"].numpy()[0] == 0.0
    assert terms["object_confidence"].numpy()[0] == 0.0
    assert terms["classes"].numpy()[0] == 0.0
    # Every confidence is sigmoid(0) = 0.5: 0.5 * 49 cells * 2 boxes * 0.25.
    np.testing.assert_allclose(terms["no_object_confidence"], [12.25])


SMALL = {
    "retinanet": dict(num_channels=16, num_convs=1),
    "ssd": dict(extra_channels=16),
    "yolo": dict(head_channels=16, hidden_units=32),
    "sliding_window_detector": dict(),
}
EMPTY = {
    "image": np.full((64, 64, 3), 90, np.uint8),
    "boxes": np.zeros((0, 4), np.float32),
    "classes": np.zeros(0, np.int32),
}
DEGENERATE = {
    "image": np.full((64, 64, 3), 200, np.uint8),
    "boxes": np.array([[0.3, 0.3, 0.3, 0.6], [0.7, 0.7, 0.2, 0.2], [1.1, 1.1, 1.4, 1.3], [np.nan] * 4], np.float32),
    "classes": np.array([0, 1, 2, 1], np.int32),
}


def _batch(spec, elements, image_size):
    pairs = [spec.targets(e, image_size) for e in elements]
    images = np.stack([p[0] for p in pairs])
    targets = tf.nest.map_structure(lambda *ys: np.stack([np.asarray(y) for y in ys]), *[p[1] for p in pairs])
    return images, targets


@pytest.mark.parametrize("name", sorted(SMALL))
def test_no_boxes_and_degenerate_boxes_give_finite_loss(name):
    spec = get_spec(name)
    # The raw outputs' graph, which fit trains.
    model = kzoo.build(name, num_classes=3, backbone="tiny", input_shape=(64, 64, 3), **SMALL[name])
    model = spec.training_model(model)
    spec.compile(model)
    images, targets = _batch(spec, [EMPTY, DEGENERATE], (64, 64))
    # The logged losses are those of the forward pass, before the update.
    logs = model.train_on_batch(images, targets, return_dict=True)
    assert all(np.isfinite(v) for v in logs.values()), logs
    if "box_deltas_loss" in logs:
        assert logs["box_deltas_loss"] == 0.0
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    if name == "yolo":
        terms = yolo_loss_terms(targets, model(images), 2)
        for key in ("coordinates", "object_confidence", "classes"):
            np.testing.assert_array_equal(terms[key], 0.0)
