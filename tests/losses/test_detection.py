import math

import numpy as np
import pytest
import tensorflow as tf

from kzoo.losses import FastRCNNLoss, RPNLoss, fast_rcnn_loss, rpn_loss
from tests.losses.finite_differences import central_difference


def np_smooth_l1(diff, beta):
    diff = np.abs(diff)
    return np.where(diff < beta, 0.5 * diff**2 / beta, diff - 0.5 * beta).sum(-1)


def np_rpn(labels, logits, targets, deltas, beta, box_weight):
    sampled = labels >= -1
    positive = labels >= 0
    probs = 1.0 / (1.0 + np.exp(-logits))
    bce = -np.where(positive, np.log(probs), np.log(1.0 - probs))
    count = sampled.sum()
    classification = bce[sampled].sum() / count if count else 0.0
    box = np_smooth_l1(deltas - targets, beta)[positive].sum() / count if count else 0.0
    return classification, box, classification + box_weight * box


def np_fast_rcnn(labels, logits, targets, deltas, beta, box_weight):
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    classification = box = 0.0
    count = 0
    for index in np.ndindex(labels.shape):
        label = labels[index]
        if label <= -2:
            continue
        count += 1
        classification -= log_probs[index + (label + 1,)]
        if label >= 0:
            chosen = deltas[index + (label,)] if deltas.ndim == labels.ndim + 2 else deltas[index]
            box += np_smooth_l1(chosen - targets[index], beta)
    if count == 0:
        return 0.0, 0.0, 0.0
    return classification / count, box / count, (classification + box_weight * box) / count


def rpn_batch(seed, labels=None):
    rng = np.random.default_rng(seed)
    if labels is None:
        labels = rng.integers(-2, 2, size=(2, 10)).astype(np.int32)
    shape = labels.shape
    targets = rng.normal(scale=0.5, size=shape + (4,))
    return labels, rng.normal(size=shape), targets, rng.normal(scale=0.5, size=shape + (4,))


def test_rpn_hand_computed():
    # Logits 0: BCE ln 2 per sampled anchor. The positive's deltas miss by
    # 0.1 and 0.2 with beta 1/9: 0.5 * 0.01 * 9 + (0.2 - 1/18).
    labels = np.array([[0, -1, -2]], np.int32)
    targets = np.zeros((1, 3, 4), np.float32)
    targets[0, 0, :2] = [0.1, 0.2]
    targets[0, 2] = 5.0
    out = rpn_loss(labels, tf.zeros([1, 3]), targets, tf.zeros([1, 3, 4]))
    box = 0.045 + 0.2 - 1.0 / 18.0
    np.testing.assert_allclose(out["classification"], math.log(2.0), rtol=1e-6)
    np.testing.assert_allclose(out["box_regression"], box / 2, rtol=1e-5)
    np.testing.assert_allclose(out["total"], math.log(2.0) + box / 2, rtol=1e-5)


@pytest.mark.parametrize("box_weight,beta", [(1.0, 1.0 / 9.0), (3.0, 1.0)])
def test_rpn_matches_numpy_and_class(box_weight, beta):
    labels, logits, targets, deltas = rpn_batch(0)
    expected = np_rpn(labels, logits, targets, deltas, beta, box_weight)
    out = rpn_loss(labels, logits[..., None], targets, deltas, box_weight, beta)
    np.testing.assert_allclose([out["classification"], out["box_regression"], out["total"]], expected, rtol=1e-5)
    y_true = np.concatenate([labels[..., None], targets], -1).astype(np.float32)
    y_pred = np.concatenate([logits[..., None], deltas], -1).astype(np.float32)
    np.testing.assert_allclose(RPNLoss(box_weight, beta)(y_true, y_pred), expected[2], rtol=1e-5)
    summed = rpn_loss(labels, logits, targets, deltas, box_weight, beta, reduction="sum")
    np.testing.assert_allclose(summed["total"], expected[2] * (labels >= -1).sum(), rtol=1e-5)


@pytest.mark.parametrize("class_specific", [False, True])
def test_fast_rcnn_matches_numpy_and_class(class_specific):
    rng = np.random.default_rng(1)
    num_classes = 3
    labels = rng.integers(-2, num_classes, size=(2, 8)).astype(np.int32)
    logits = rng.normal(size=(2, 8, num_classes + 1))
    targets = rng.normal(scale=0.5, size=(2, 8, 4))
    deltas = rng.normal(scale=0.5, size=(2, 8, num_classes, 4) if class_specific else (2, 8, 4))
    expected = np_fast_rcnn(labels, logits, targets, deltas, 1.0, 2.0)
    out = fast_rcnn_loss(labels, logits, targets, deltas, box_weight=2.0)
    np.testing.assert_allclose([out["classification"], out["box_regression"], out["total"]], expected, rtol=1e-5)
    y_true = np.concatenate([labels[..., None], targets], -1).astype(np.float32)
    y_pred = np.concatenate([logits, deltas.reshape(2, 8, -1)], -1).astype(np.float32)
    np.testing.assert_allclose(FastRCNNLoss(num_classes, box_weight=2.0)(y_true, y_pred), expected[2], rtol=1e-5)


def test_fast_rcnn_uses_only_the_gt_class_deltas():
    labels = tf.constant([[1, -1]])
    deltas = tf.constant(np.random.default_rng(2).normal(size=(1, 2, 3, 4)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(deltas)
        value = fast_rcnn_loss(labels, tf.zeros([1, 2, 4]), tf.zeros([1, 2, 4]), deltas)["box_regression"]
    grad = tape.gradient(value, deltas).numpy()
    assert np.any(grad[0, 0, 1]) and not np.any(grad[0, 0, [0, 2]]) and not np.any(grad[0, 1])


@pytest.mark.parametrize("fill", [-1, -2])
def test_no_positives_gives_exactly_zero_box_loss(fill):
    labels, logits, targets, deltas = rpn_batch(3, labels=np.full((2, 6), fill, np.int32))
    logits = tf.constant(logits, tf.float32)
    deltas = tf.constant(deltas, tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([logits, deltas])
        rpn = rpn_loss(labels, logits, targets, deltas)
        fast = fast_rcnn_loss(labels, tf.stack([logits, -logits], -1), targets, deltas)
    for out in (rpn, fast):
        assert float(out["box_regression"]) == 0.0
        assert np.isfinite(float(out["total"]))
        if fill == -2:  # everything ignored: nothing to learn from
            assert float(out["total"]) == 0.0
        assert not np.any(tape.gradient(out["box_regression"], deltas))
        assert np.all(np.isfinite(tape.gradient(out["total"], logits)))
    assert (float(rpn["classification"]) > 0.0) == (fill == -1)


def test_gradients_match_finite_differences():
    labels, logits, targets, deltas = rpn_batch(4)
    labels[0, :2] = [0, 1]
    x, d = tf.constant(logits), tf.constant(deltas)
    with tf.GradientTape() as tape:
        tape.watch([x, d])
        value = rpn_loss(labels, x, targets, d, 2.0, 0.5)["total"]
    grad_x, grad_d = tape.gradient(value, [x, d])
    numeric_x = central_difference(lambda v: rpn_loss(labels, v, targets, deltas, 2.0, 0.5)["total"], logits)
    numeric_d = central_difference(lambda v: rpn_loss(labels, logits, targets, v, 2.0, 0.5)["total"], deltas)
    np.testing.assert_allclose(grad_x, numeric_x, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(grad_d, numeric_d, rtol=1e-6, atol=1e-9)


def test_wrong_packing_and_config():
    with pytest.raises(ValueError):
        FastRCNNLoss(num_classes=3)(tf.zeros([1, 2, 5]), tf.zeros([1, 2, 7]))
    with pytest.raises(ValueError):
        rpn_loss([[0]], [[0.0]], [[[0.0] * 4]], [[[0.0] * 4]], reduction="none")
    for loss in (RPNLoss(box_weight=10.0, smooth_l1_beta=0.0), FastRCNNLoss(5, 2.0, 0.5)):
        config = loss.get_config()
        assert type(loss).from_config(config).get_config() == config
