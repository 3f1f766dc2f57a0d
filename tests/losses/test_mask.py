import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo.losses import MaskLoss, mask_loss, per_class_mask_targets
from tests.losses.finite_differences import central_difference


def np_mask_loss(masks, logits, labels):
    """Mean over positive RoIs of the average pixel BCE on the gt class channel."""
    per_roi = []
    for index in np.ndindex(labels.shape):
        label = labels[index]
        if label < 0:
            continue
        x = logits[index][..., label if logits.shape[-1] > 1 else 0]
        y = masks[index]
        bce = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
        per_roi.append(bce.mean())
    return float(np.mean(per_roi)) if per_roi else 0.0


def mask_batch(seed, num_classes=3):
    rng = np.random.default_rng(seed)
    labels = rng.integers(-2, num_classes, size=(2, 5)).astype(np.int32)
    labels[0, 0] = 1
    masks = (rng.random((2, 5, 6, 6)) < 0.4).astype(np.float32)
    logits = rng.normal(scale=2.0, size=(2, 5, 6, 6, num_classes)).astype(np.float32)
    return masks, logits, labels


def test_hand_computed():
    # Logits 0: BCE ln 2 at every trained pixel whatever the mask.
    masks = np.ones((1, 2, 4, 4), np.float32)
    np.testing.assert_allclose(mask_loss(masks, tf.zeros([1, 2, 4, 4, 3]), [[1, -1]]), math.log(2.0), rtol=1e-6)


@pytest.mark.parametrize("num_classes", [1, 3])
def test_matches_numpy_and_class(num_classes):
    masks, logits, labels = mask_batch(0, num_classes)
    expected = np_mask_loss(masks, logits.astype(np.float64), labels)
    np.testing.assert_allclose(mask_loss(masks, logits, labels), expected, rtol=1e-5)
    dense = per_class_mask_targets(masks, labels, num_classes)
    np.testing.assert_allclose(MaskLoss()(dense, logits), expected, rtol=1e-5)
    keras_bce = keras.losses.BinaryCrossentropy(from_logits=True, reduction=None)
    positives = labels >= 0
    channel = np.where(positives, labels, 0) if num_classes > 1 else np.zeros_like(labels)
    chosen = np.take_along_axis(logits, channel[..., None, None, None], -1)[..., 0][positives]
    reference = keras_bce(masks[positives][..., None], chosen[..., None])
    np.testing.assert_allclose(mask_loss(masks, logits, labels), np.mean(reference), rtol=1e-5)


def test_per_class_targets_layout():
    masks = np.array([[[[1.0, 0.0]], [[0.0, 1.0]]]], np.float32)  # [1, 2, 1, 2]
    dense = per_class_mask_targets(masks, [[2, -1]], 3).numpy()
    np.testing.assert_array_equal(dense[0, 0, 0, :, 2], [1.0, 0.0])
    np.testing.assert_array_equal(dense[0, 0, ..., :2], -np.ones((1, 2, 2)))
    np.testing.assert_array_equal(dense[0, 1], -np.ones((1, 2, 3)))


def test_other_classes_and_negative_rois_get_no_gradient():
    masks, logits, labels = mask_batch(1)
    x = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = mask_loss(masks, x, labels)
    grad = tape.gradient(value, x).numpy()
    for index in np.ndindex(labels.shape):
        others = [c for c in range(3) if c != labels[index]]
        assert not np.any(grad[index][..., others])
        assert np.any(grad[index][..., labels[index]]) == (labels[index] >= 0)


def test_no_positive_rois_is_exactly_zero():
    masks, logits, _ = mask_batch(2)
    labels = np.array([[-1, -2, -1, -1, -2], [-2, -2, -1, -1, -1]], np.int32)
    assert float(mask_loss(masks, logits, labels)) == 0.0
    assert float(MaskLoss()(per_class_mask_targets(masks, labels, 3), logits)) == 0.0


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    masks = (rng.random((1, 2, 2, 2)) < 0.5).astype(np.float64)
    logits = rng.normal(size=(1, 2, 2, 2, 2))
    labels = np.array([[1, 0]], np.int32)
    x = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = mask_loss(masks, x, labels)
    numeric = central_difference(lambda v: mask_loss(masks, v, labels), logits)
    np.testing.assert_allclose(tape.gradient(value, x), numeric, rtol=1e-6, atol=1e-9)
