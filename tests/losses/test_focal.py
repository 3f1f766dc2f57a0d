import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo.losses import FocalLoss, sigmoid_focal_loss, softmax_focal_loss
from tests.losses.finite_differences import central_difference


def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_sigmoid_focal(labels, logits, alpha, gamma):
    """Per-element focal loss written from the paper, with matcher labels."""
    num_classes = logits.shape[-1]
    out = np.zeros_like(logits, dtype=np.float64)
    for index in np.ndindex(labels.shape):
        label = labels[index]
        if label <= -2:
            continue
        for c in range(num_classes):
            y = 1.0 if label == c else 0.0
            p = np_sigmoid(float(logits[index + (c,)]))
            p_t = p if y == 1.0 else 1.0 - p
            a_t = 1.0 if alpha is None else (alpha if y == 1.0 else 1.0 - alpha)
            out[index + (c,)] = -a_t * (1.0 - p_t) ** gamma * math.log(p_t)
    return out


def np_softmax_focal(labels, logits, alpha, gamma):
    """Per-row softmax focal loss; negative labels are ignored."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=-1, keepdims=True)
    out = np.zeros(labels.shape)
    for index in np.ndindex(labels.shape):
        label = labels[index]
        if label < 0:
            continue
        p = probs[index + (label,)]
        a = 1.0 if alpha is None else (alpha[label] if isinstance(alpha, list) else alpha)
        out[index] = -a * (1.0 - p) ** gamma * math.log(p)
    return out


@pytest.fixture
def detection_batch():
    rng = np.random.default_rng(0)
    labels = rng.integers(-2, 3, size=(2, 7)).astype(np.int32)
    labels[0, :3] = [0, -1, -2]
    logits = rng.normal(scale=2.0, size=(2, 7, 3)).astype(np.float32)
    return labels, logits


def test_hand_computed_value():
    # Logits 0 give p = 0.5: every element has (1 - p_t)^2 = 1/4 and CE = ln 2.
    # Anchor 0 (class 0): one positive (alpha 0.25) and three negatives (0.75);
    # anchor 1 (background): four negatives; anchor 2 ignored; one positive.
    expected = (0.25 * 0.25 + 3 * 0.75 * 0.25 + 4 * 0.75 * 0.25) * math.log(2.0) / 1.0
    value = sigmoid_focal_loss([[0, -1, -2]], tf.zeros([1, 3, 4]))
    np.testing.assert_allclose(float(value), expected, rtol=1e-6)
    np.testing.assert_allclose(float(FocalLoss()([[0, -1, -2]], tf.zeros([1, 3, 4]))), expected, rtol=1e-6)


@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (None, 2.0), (0.5, 0.0), (0.75, 1.5)])
def test_sigmoid_matches_numpy_reference(detection_batch, alpha, gamma):
    labels, logits = detection_batch
    reference = np_sigmoid_focal(labels, logits.astype(np.float64), alpha, gamma)
    got = sigmoid_focal_loss(labels, logits, alpha, gamma, reduction="none")
    np.testing.assert_allclose(got, reference, rtol=1e-5, atol=1e-6)
    num_pos = max(1, int((labels >= 0).sum()))
    num_valid = int((labels >= -1).sum()) * logits.shape[-1]
    np.testing.assert_allclose(sigmoid_focal_loss(labels, logits, alpha, gamma), reference.sum() / num_pos, rtol=1e-5)
    summed = sigmoid_focal_loss(labels, logits, alpha, gamma, reduction="sum")
    np.testing.assert_allclose(summed, reference.sum(), rtol=1e-5)
    mean = sigmoid_focal_loss(labels, logits, alpha, gamma, reduction="mean")
    np.testing.assert_allclose(mean, reference.sum() / num_valid, rtol=1e-5)


def test_dense_targets_equal_integer_labels(detection_batch):
    labels, logits = detection_batch
    dense = np.eye(3, dtype=np.float32)[np.maximum(labels, 0)] * (labels >= 0)[..., None]
    dense[labels <= -2] = -1.0
    np.testing.assert_allclose(sigmoid_focal_loss(dense, logits), sigmoid_focal_loss(labels, logits), rtol=1e-6)


@pytest.mark.parametrize("alpha,balance", [(0.25, True), (0.6, True), (0.25, False)])
def test_sigmoid_agrees_with_keras_binary_focal(alpha, balance):
    rng = np.random.default_rng(1)
    targets = (rng.random((3, 5, 4)) < 0.3).astype(np.float32)
    logits = rng.normal(size=(3, 5, 4)).astype(np.float32)
    keras_loss = keras.losses.BinaryFocalCrossentropy(
        apply_class_balancing=balance, alpha=alpha, gamma=2.0, from_logits=True, reduction=None
    )
    ours = sigmoid_focal_loss(targets, logits, alpha if balance else None, 2.0, reduction="none")
    np.testing.assert_allclose(np.mean(ours, axis=-1), keras_loss(targets, logits), rtol=1e-4, atol=1e-6)
    mean_keras = keras.losses.BinaryFocalCrossentropy(apply_class_balancing=balance, alpha=alpha, from_logits=True)
    ours_class = FocalLoss(alpha if balance else None, 2.0, normalize_by="valid")
    np.testing.assert_allclose(ours_class(targets, logits), mean_keras(targets, logits), rtol=1e-4)


def test_gamma_zero_is_cross_entropy():
    rng = np.random.default_rng(2)
    targets = (rng.random((2, 6, 3)) < 0.5).astype(np.float32)
    logits = rng.normal(scale=3.0, size=(2, 6, 3)).astype(np.float32)
    expected = tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits)
    np.testing.assert_allclose(sigmoid_focal_loss(targets, logits, None, 0.0, "none"), expected, rtol=1e-6)


@pytest.mark.parametrize("alpha,gamma", [(None, 2.0), ([0.2, 1.0, 0.5, 2.0], 1.0), (0.25, 0.0)])
def test_softmax_matches_numpy_reference(alpha, gamma):
    rng = np.random.default_rng(3)
    labels = rng.integers(-1, 4, size=(2, 9)).astype(np.int32)
    logits = rng.normal(scale=2.0, size=(2, 9, 4)).astype(np.float32)
    reference = np_softmax_focal(labels, logits.astype(np.float64), alpha, gamma)
    per_row = softmax_focal_loss(labels, logits, alpha, gamma, "none")
    np.testing.assert_allclose(per_row, reference, rtol=1e-5, atol=1e-6)
    mean = softmax_focal_loss(labels, logits, alpha, gamma)
    np.testing.assert_allclose(mean, reference.sum() / (labels >= 0).sum(), rtol=1e-5)
    num_pos = max(1, int((labels > 0).sum()))
    by_positives = softmax_focal_loss(labels, logits, alpha, gamma, "num_positives")
    np.testing.assert_allclose(by_positives, reference.sum() / num_pos, rtol=1e-5)


def test_softmax_agrees_with_keras_categorical_focal():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 5, size=(4, 6))
    logits = rng.normal(size=(4, 6, 5)).astype(np.float32)
    one_hot = np.eye(5, dtype=np.float32)[labels]
    keras_loss = keras.losses.CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0, from_logits=True, reduction=None)
    expected = keras_loss(one_hot, logits)
    np.testing.assert_allclose(softmax_focal_loss(one_hot, logits, 0.25, 2.0, "none"), expected, rtol=1e-4)
    np.testing.assert_allclose(softmax_focal_loss(labels, logits, 0.25, 2.0, "none"), expected, rtol=1e-4)


def test_all_background_and_all_ignored():
    logits = tf.constant(np.random.default_rng(5).normal(size=(2, 4, 3)), tf.float32)
    background = -np.ones((2, 4), np.int32)
    # No positives: normalized by max(1, 0) = 1, i.e. the plain sum.
    np.testing.assert_allclose(
        sigmoid_focal_loss(background, logits), sigmoid_focal_loss(background, logits, reduction="sum"), rtol=1e-6
    )
    ignored = np.full((2, 4), -2, np.int32)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        value = FocalLoss()(ignored, logits)
    assert float(value) == 0.0
    assert float(sigmoid_focal_loss(ignored, logits, reduction="mean")) == 0.0
    assert not np.any(tape.gradient(value, logits))


def test_saturated_logits_keep_finite_gradients():
    logits = tf.constant([[[40.0, -40.0], [-40.0, 40.0]]])
    for gamma in (0.0, 2.0):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            value = sigmoid_focal_loss([[0, 0]], logits, gamma=gamma)
        assert np.isfinite(float(value)) and np.all(np.isfinite(tape.gradient(value, logits)))


@pytest.mark.parametrize("which", ["sigmoid", "softmax"])
def test_gradients_match_finite_differences(which):
    rng = np.random.default_rng(6)
    logits = rng.normal(size=(2, 3, 4))
    labels = np.array([[0, -1, -2], [3, 2, -1]], np.int32)
    fn = sigmoid_focal_loss if which == "sigmoid" else softmax_focal_loss
    x = tf.constant(logits, tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = fn(labels, x, 0.25, 2.0, "sum")
    numeric = central_difference(lambda v: fn(labels, tf.constant(v), 0.25, 2.0, "sum"), logits)
    np.testing.assert_allclose(tape.gradient(value, x), numeric, rtol=1e-6, atol=1e-8)


def test_validation_and_config():
    with pytest.raises(ValueError):
        FocalLoss(activation="relu")
    with pytest.raises(ValueError):
        sigmoid_focal_loss([[0]], tf.zeros([1, 1, 2]), reduction="average")
    loss = FocalLoss(alpha=[0.5, 1.0], gamma=1.0, activation="softmax", normalize_by="valid")
    config = loss.get_config()
    assert FocalLoss.from_config(config).get_config() == config
