"""Targets, decode, losses, compile and evaluation shared by the segmentation models."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo.losses import CrossEntropyDiceLoss, DiceLoss
from kzoo.models.segmentation import (
    build_sliding_window_segmenter,
    compile_segmentation,
    decode_segmentation,
    segmentation_loss,
    segmentation_targets,
)
from kzoo.models.segmentation.evaluate import evaluate


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_targets_resize_image_and_labels():
    rng = np.random.default_rng(0)
    element = {
        "image": rng.integers(0, 256, (64, 64, 3)).astype("uint8"),
        "segmentation": rng.integers(0, 6, (64, 64)).astype("int32"),
    }
    image, labels = segmentation_targets(element, (32, 32))
    assert image.dtype == tf.float32 and image.shape == (32, 32, 3)
    assert labels.dtype == tf.int32
    # Nearest neighbour with half-pixel centres samples pixel 2i + 1 when halving.
    np.testing.assert_array_equal(labels.numpy(), element["segmentation"][1::2, 1::2])
    same, same_labels = segmentation_targets(element, (64, 64))
    np.testing.assert_array_equal(same.numpy(), element["image"])
    np.testing.assert_array_equal(same_labels.numpy(), element["segmentation"])


def test_decode_is_softmax_and_argmax():
    logits = np.random.default_rng(1).normal(size=(2, 4, 5, 3)).astype("float32")
    out = decode_segmentation(None, tf.constant(logits))
    np.testing.assert_allclose(out["segmentation_probs"].numpy(), _softmax(logits), atol=1e-6)
    assert out["segmentation_mask"].dtype == tf.int32
    np.testing.assert_array_equal(out["segmentation_mask"].numpy(), logits.argmax(-1))


def _numpy_cross_entropy(labels, logits):
    log_probs = np.log(_softmax(logits))
    return -np.take_along_axis(log_probs, labels[..., None], -1).mean()


def _numpy_dice_loss(labels, logits, smooth=1.0):
    """Per image and class soft Dice with smoothing, averaged over classes, then images."""
    probs = _softmax(logits)
    onehot = np.eye(logits.shape[-1])[labels]
    intersection = (onehot * probs).sum((1, 2))
    dice = (2 * intersection + smooth) / (onehot.sum((1, 2)) + probs.sum((1, 2)) + smooth)
    return (1 - dice.mean(-1)).mean()


@pytest.mark.parametrize("name, cls", [("dice", DiceLoss), ("cross_entropy_dice", CrossEntropyDiceLoss)])
def test_losses_are_kzoos_and_match_numpy(name, cls):
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 4, (3, 6, 5))
    logits = rng.normal(size=(3, 6, 5, 4)).astype("float32")
    loss = segmentation_loss(name)
    assert type(loss) is cls and loss.from_logits
    expected = _numpy_dice_loss(labels, logits)
    if name == "cross_entropy_dice":
        expected += _numpy_cross_entropy(labels, logits)
    np.testing.assert_allclose(float(loss(labels, logits)), expected, rtol=1e-5)
    ce = segmentation_loss("cross_entropy")
    np.testing.assert_allclose(float(ce(labels, logits)), _numpy_cross_entropy(labels, logits), rtol=1e-5)
    with pytest.raises(ValueError):
        segmentation_loss("focal")


@pytest.mark.parametrize("loss", ["cross_entropy", "dice", "cross_entropy_dice"])
def test_compile_trains_with_each_loss(loss):
    model = build_sliding_window_segmenter(2, "tiny", input_shape=(16, 16, 3))
    compile_segmentation(model, loss=loss)
    rng = np.random.default_rng(3)
    images = rng.uniform(0, 255, (4, 16, 16, 3)).astype("float32")
    labels = rng.integers(0, 3, (4, 16, 16)).astype("int32")
    logs = model.train_on_batch(images, labels, return_dict=True)
    assert np.isfinite(logs["loss"]) and 0 <= logs["mean_iou"] <= 1 and 0 <= logs["pixel_accuracy"] <= 1
    assert isinstance(model.optimizer, keras.optimizers.Adam)


def test_evaluate_by_hand():
    elements = [{"segmentation": np.array([[0, 1], [1, 2]])}, {"segmentation": np.array([[0, 0], [2, 2]])}]
    predictions = [
        {"segmentation_mask": np.array([[0, 1], [2, 2]])},
        # At twice the size: nearest neighbour takes pixels (1, 1), (1, 3), (3, 1), (3, 3).
        {"segmentation_mask": np.array([[9, 9, 9, 9], [9, 0, 9, 1], [9, 9, 9, 9], [9, 2, 9, 2]])},
    ]
    result = evaluate(elements, predictions, ["a", "b"])
    # background: TP 2, FP 0, FN 1 -> IoU 2/3, Dice 4/5; "a": TP 1, FP 1, FN 1 -> 1/3, 1/2;
    # "b": TP 3, FP 1, FN 0 -> 3/4, 6/7.
    np.testing.assert_allclose(list(result["iou"].values()), [2 / 3, 1 / 3, 3 / 4])
    np.testing.assert_allclose(list(result["dice"].values()), [4 / 5, 1 / 2, 6 / 7])
    assert list(result["iou"]) == result["class_names"] == ["background", "a", "b"]
    np.testing.assert_array_equal(result["confusion_matrix"], [[2, 1, 0], [0, 1, 1], [0, 0, 3]])
    np.testing.assert_allclose(result["mean_iou"], (2 / 3 + 1 / 3 + 3 / 4) / 3)
    np.testing.assert_allclose(result["pixel_accuracy"], 6 / 8)
