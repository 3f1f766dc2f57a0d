import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo.losses import CrossEntropyDiceLoss, DiceLoss, dice_coefficient, dice_loss
from tests.losses.finite_differences import central_difference


def np_dice(labels, probs, smooth, valid=None):
    """Per-image, per-class soft Dice from the definition 2|A n B| / (|A| + |B|)."""
    n, num_classes = probs.shape[0], probs.shape[-1]
    valid = np.ones(labels.shape, bool) if valid is None else valid
    out = np.zeros((n, num_classes))
    for i in range(n):
        for c in range(num_classes):
            a = ((labels[i] == c) & valid[i]).astype(np.float64)
            b = probs[i, ..., c] * valid[i]
            out[i, c] = (2 * np.sum(a * b) + smooth) / (np.sum(a) + np.sum(b) + smooth)
    return out


def random_segmentation(seed, n=2, size=5, num_classes=3):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, size=(n, size, size)).astype(np.int32)
    logits = rng.normal(size=(n, size, size, num_classes))
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return labels, probs.astype(np.float32), logits.astype(np.float32)


def test_hard_masks_follow_the_set_definition():
    # A = {(0,0), (0,1), (1,1)}, B = {(0,1), (1,1), (1,0), (2,2)}: |A n B| = 2.
    a = np.zeros((3, 3), np.int32)
    a[[0, 0, 1], [0, 1, 1]] = 1
    b = np.zeros((3, 3), np.float32)
    b[[0, 1, 1, 2], [1, 1, 0, 2]] = 1.0
    probs = np.stack([1.0 - b, b], -1)[None]
    dice = dice_coefficient(a[None], probs, smooth=0.0)
    np.testing.assert_allclose(dice[0, 1], 2 * 2 / (3 + 4), rtol=1e-6)
    # Background: A' has 6 pixels, B' has 5, and they share 4.
    np.testing.assert_allclose(dice[0, 0], 2 * 4 / (6 + 5), rtol=1e-6)


def test_perfect_and_disjoint_predictions():
    labels = np.array([[[0, 1], [1, 0]]], np.int32)
    perfect = np.eye(2, dtype=np.float32)[labels]
    np.testing.assert_allclose(dice_loss(labels, perfect, smooth=0.0), [0.0], atol=1e-7)
    np.testing.assert_allclose(dice_loss(labels, 1.0 - perfect, smooth=0.0), [1.0], atol=1e-7)


@pytest.mark.parametrize("smooth", [0.0, 1.0])
def test_matches_numpy_reference(smooth):
    labels, probs, _ = random_segmentation(0)
    reference = np_dice(labels, probs.astype(np.float64), smooth)
    np.testing.assert_allclose(dice_coefficient(labels, probs, smooth), reference, rtol=1e-5)
    one_hot = np.eye(3, dtype=np.float32)[labels]
    np.testing.assert_allclose(dice_coefficient(one_hot, probs, smooth), reference, rtol=1e-5)
    np.testing.assert_allclose(dice_coefficient(labels[..., None], probs, smooth), reference, rtol=1e-5)
    np.testing.assert_allclose(DiceLoss(smooth)(labels, probs), np.mean(1 - reference.mean(-1)), rtol=1e-5)


def test_agrees_with_keras_dice():
    labels, probs, _ = random_segmentation(1, n=3, size=6)
    one_hot = np.eye(3, dtype=np.float32)[labels]
    keras_dice = keras.losses.Dice(axis=(1, 2))
    np.testing.assert_allclose(DiceLoss(smooth=0.0)(one_hot, probs), keras_dice(one_hot, probs), rtol=1e-5)


def test_class_weights_and_from_logits():
    labels, probs, logits = random_segmentation(2)
    weights = [0.2, 1.0, 3.0]
    reference = np_dice(labels, probs.astype(np.float64), 1.0)
    expected = 1 - (reference * weights).sum(-1) / sum(weights)
    np.testing.assert_allclose(dice_loss(labels, probs, 1.0, weights), expected, rtol=1e-5)
    np.testing.assert_allclose(dice_loss(labels, logits, 1.0, weights, from_logits=True), expected, rtol=1e-5)
    np.testing.assert_allclose(
        DiceLoss(class_weights=weights, from_logits=True)(labels, logits), expected.mean(), rtol=1e-5
    )


def test_ignore_class_outside_and_inside_the_classes():
    labels, probs, _ = random_segmentation(3)
    labels[0, :2] = 255
    valid = labels != 255
    reference = np_dice(labels, probs.astype(np.float64), 1.0, valid)
    np.testing.assert_allclose(dice_coefficient(labels, probs, 1.0, ignore_class=255), reference, rtol=1e-5)
    np.testing.assert_allclose(dice_loss(labels, probs, ignore_class=255), 1 - reference.mean(-1), rtol=1e-5)
    # Ignoring class 0 drops its pixels and its term in the class average.
    labels, probs, _ = random_segmentation(4)
    reference = np_dice(labels, probs.astype(np.float64), 1.0, labels != 0)
    np.testing.assert_allclose(dice_loss(labels, probs, ignore_class=0), 1 - reference[:, 1:].mean(-1), rtol=1e-5)
    one_hot = np.eye(3, dtype=np.float32)[labels]
    np.testing.assert_allclose(dice_loss(one_hot, probs, ignore_class=0), 1 - reference[:, 1:].mean(-1), rtol=1e-5)


def test_cross_entropy_dice_is_the_weighted_sum():
    labels, probs, logits = random_segmentation(5)
    labels[1, 0] = 255
    valid = labels != 255
    picked = np.take_along_axis(probs.astype(np.float64), np.where(valid, labels, 0)[..., None], -1)[..., 0]
    cross_entropy = np.array([-np.log(picked[i])[valid[i]].mean() for i in range(2)])
    dice = 1 - np_dice(labels, probs.astype(np.float64), 1.0, valid).mean(-1)
    loss = CrossEntropyDiceLoss(cross_entropy_weight=0.5, dice_weight=2.0, ignore_class=255, from_logits=True)
    np.testing.assert_allclose(loss(labels, logits), np.mean(0.5 * cross_entropy + 2.0 * dice), rtol=1e-5)
    keras_ce = np.asarray(
        keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255, reduction=None)(labels, logits)
    )
    per_image = [keras_ce[i][valid[i]].mean() for i in range(2)]
    only_ce = CrossEntropyDiceLoss(dice_weight=0.0, ignore_class=255, from_logits=True)
    np.testing.assert_allclose(only_ce(labels, logits), np.mean(per_image), rtol=1e-5)
    labels[1, 0] = 1  # nothing ignored: the mean over every pixel of the batch
    all_ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
    np.testing.assert_allclose(CrossEntropyDiceLoss(dice_weight=0.0, from_logits=True)(labels, logits), all_ce, rtol=1e-5)


def test_empty_class_and_all_background_image():
    # Class 1 is absent from target and prediction: Dice 1 even with smooth = 0.
    labels = np.zeros((1, 4, 4), np.int32)
    probs = tf.constant(np.stack([np.ones((1, 4, 4)), np.zeros((1, 4, 4))], -1), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(probs)
        value = DiceLoss(smooth=0.0)(labels, probs)
    assert float(value) == 0.0
    assert np.all(np.isfinite(tape.gradient(value, probs)))


def test_gradient_matches_finite_differences():
    labels, _, logits = random_segmentation(6, n=1, size=3)
    x = tf.constant(logits, tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = tf.reduce_sum(dice_loss(labels, x, 1.0, from_logits=True))
    total = lambda v: tf.reduce_sum(dice_loss(labels, v, 1.0, from_logits=True))  # noqa: E731
    numeric = central_difference(total, logits.astype(np.float64))
    np.testing.assert_allclose(tape.gradient(value, x), numeric, rtol=1e-6, atol=1e-9)


def test_config_round_trip():
    for loss in (DiceLoss(0.5, [1.0, 2.0], 255, True), CrossEntropyDiceLoss(0.3, 0.7, smooth=2.0, ignore_class=3)):
        config = loss.get_config()
        assert type(loss).from_config(config).get_config() == config
