"""Classification + localization: heads, targets, decoding, the multi-task loss and the evaluator."""

import numpy as np
import pytest
import tensorflow as tf

from kzoo.data import DatasetInfo
from kzoo.models.localization import (
    BoxIoU,
    build_classify_localize,
    classify_localize_targets,
    compile_classify_localize,
    decode_classify_localize,
)
from kzoo.models.localization.classify_localize import box_loss_by_name, order_corners
from kzoo.models.localization.evaluate import evaluate


def _np_iou(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    h = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    w = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = h * w
    union = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return inter / union


def _np_log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


@pytest.mark.parametrize("backbone, level", [("tiny", "P5"), ("tiny", "P4"), ("mobilenet_v2", "P5")])
def test_two_heads_have_the_contract_shapes(backbone, level):
    model = build_classify_localize(7, backbone=backbone, input_shape=(64, 48, 3), feature_level=level)
    assert model.name == "classify_localize"
    out = model(np.zeros((3, 64, 48, 3), np.float32))
    assert set(out) == {"class_logits", "box"}
    assert out["class_logits"].shape == (3, 7) and out["box"].shape == (3, 4)
    np.testing.assert_allclose(model.get_layer("box").bias.numpy(), [0.2, 0.2, 0.8, 0.8])


def test_builder_refuses_what_it_cannot_build():
    with pytest.raises(ValueError, match="num_classes"):
        build_classify_localize(1)
    with pytest.raises(ValueError, match="fixed height"):
        build_classify_localize(3, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="levels"):
        build_classify_localize(3, feature_level="P6")
    with pytest.raises(ValueError, match="box_loss"):
        box_loss_by_name("l3")


def test_targets_take_the_first_object_and_resize_the_image():
    image = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    element = {
        "image": tf.constant(image),
        "classes": tf.constant([4], tf.int32),
        "boxes": tf.constant([[0.1, 0.2, 0.5, 0.9]], tf.float32),
    }
    x, y = classify_localize_targets(element, (16, 4))
    assert x.shape == (16, 4, 3) and x.dtype == tf.float32
    np.testing.assert_allclose(x.numpy(), tf.image.resize(image.astype(np.float32), (16, 4)).numpy())
    assert int(y["class_logits"]) == 4
    np.testing.assert_allclose(y["box"].numpy(), [0.1, 0.2, 0.5, 0.9])


def test_decode_orders_and_clips_boxes_and_takes_the_softmax():
    logits = np.array([[1.0, 3.0, -2.0], [0.5, 0.1, 0.2]], np.float32)
    boxes = np.array([[0.6, -0.2, 0.2, 0.7], [0.1, 0.2, 1.3, 0.4]], np.float32)
    out = decode_classify_localize(None, {"class_logits": tf.constant(logits), "box": tf.constant(boxes)})
    np.testing.assert_allclose(out["probabilities"].numpy(), np.exp(_np_log_softmax(logits)), rtol=1e-6)
    np.testing.assert_array_equal(out["classes"].numpy(), [1, 0])
    assert out["classes"].dtype == tf.int32
    # Crossed edges swap (0.6 > 0.2), then everything is clipped to [0, 1].
    np.testing.assert_allclose(out["boxes"].numpy(), [[0.2, 0.0, 0.6, 0.7], [0.1, 0.2, 1.0, 0.4]])
    np.testing.assert_allclose(order_corners([[0.5, 0.4, 0.1, 0.9]]).numpy(), [[0.1, 0.4, 0.5, 0.9]])


def test_box_iou_metric_matches_numpy():
    rng = np.random.default_rng(0)
    corner = rng.uniform(0, 0.5, (20, 2))
    true = np.concatenate([corner, corner + rng.uniform(0.1, 0.5, (20, 2))], -1).astype(np.float32)
    pred = (true + rng.normal(0, 0.1, true.shape)).astype(np.float32)
    pred[:3] = pred[:3, [2, 3, 0, 1]]  # crossed corners count as the ordered box
    metric = BoxIoU()
    metric.update_state(true[:12], pred[:12])
    metric.update_state(true[12:], pred[12:])
    expected = _np_iou(true, np.asarray(order_corners(pred)))
    np.testing.assert_allclose(float(metric.result()), expected.mean(), rtol=1e-5)
    hand = BoxIoU()
    hand.update_state([[0.0, 0.0, 1.0, 1.0]], [[0.0, 0.0, 0.5, 1.0]])
    assert float(hand.result()) == pytest.approx(0.5)
    assert BoxIoU.from_config(metric.get_config()).get_config() == metric.get_config()


@pytest.mark.parametrize("name", ["l2", "smooth_l1", "giou"])
def test_box_losses_match_numpy(name):
    rng = np.random.default_rng(1)
    true = np.array([[0.1, 0.1, 0.6, 0.5], [0.2, 0.3, 0.9, 0.8], [0.0, 0.0, 0.4, 0.4]], np.float32)
    pred = (true + rng.normal(0, 0.1, true.shape)).astype(np.float32)
    value = float(box_loss_by_name(name)(true, pred))
    if name == "l2":
        expected = np.mean((pred - true) ** 2)
    elif name == "smooth_l1":
        # Every error is below beta = 1: half the squared distance, summed over coordinates.
        expected = np.mean(np.sum(0.5 * (pred - true) ** 2, -1))
    else:
        lo, hi = np.minimum(true[:, :2], pred[:, :2]), np.maximum(true[:, 2:], pred[:, 2:])
        enclosing = np.prod(hi - lo, -1)
        sides = np.minimum(true[:, 2:], pred[:, 2:]) - np.maximum(true[:, :2], pred[:, :2])
        inter = np.prod(np.clip(sides, 0, None), -1)
        union = np.prod(true[:, 2:] - true[:, :2], -1) + np.prod(pred[:, 2:] - pred[:, :2], -1) - inter
        expected = np.mean(1 - (inter / union - (enclosing - union) / enclosing))
    assert value == pytest.approx(expected, rel=1e-5)


def test_training_loss_is_cross_entropy_plus_weighted_box_loss():
    model = build_classify_localize(4, input_shape=(32, 32, 3), dropout=0.0)
    compile_classify_localize(model, box_loss="l2", box_weight=3.0)
    rng = np.random.default_rng(2)
    images = rng.uniform(0, 255, (6, 32, 32, 3)).astype(np.float32)
    targets = {"class_logits": np.array([0, 1, 2, 3, 0, 1]), "box": rng.uniform(0, 1, (6, 4)).astype(np.float32)}
    out = model(images, training=False)
    log_probs = _np_log_softmax(np.asarray(out["class_logits"], np.float64))
    cross_entropy = -np.mean(log_probs[np.arange(6), targets["class_logits"]])
    box = np.mean((np.asarray(out["box"]) - targets["box"]) ** 2)
    logs = model.evaluate(images, targets, batch_size=6, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(cross_entropy + 3.0 * box, rel=1e-4)
    assert logs["class_logits_loss"] == pytest.approx(cross_entropy, rel=1e-4)


def test_evaluate_counts_class_and_overlap_together():
    true_boxes = [[0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 1.0, 1.0], [0.2, 0.2, 0.6, 0.6], [0.5, 0.5, 1.0, 1.0]]
    elements = [{"classes": np.array([c]), "boxes": np.array([b], np.float32)} for c, b in enumerate(true_boxes)]
    predictions = [
        {"classes": 0, "boxes": np.array([0.0, 0.0, 0.5, 0.5])},  # right class, IoU 1
        {"classes": 1, "boxes": np.array([0.0, 0.0, 0.5, 1.0])},  # right class, IoU 0.5: counts
        {"classes": 0, "boxes": np.array([0.2, 0.2, 0.6, 0.6])},  # wrong class, IoU 1
        {"classes": 3, "boxes": np.array([0.0, 0.0, 0.5, 0.5])},  # right class, IoU 0
    ]
    info = DatasetInfo("x", tuple("abcd"), (8, 8), {}, 1, ())
    results = evaluate(elements, predictions, info)
    assert results["accuracy"] == pytest.approx(0.5)
    assert results["classification_accuracy"] == pytest.approx(0.75)
    assert results["box_accuracy"] == pytest.approx(0.75)
    assert results["mean_iou"] == pytest.approx(2.5 / 4)
    assert evaluate([], [], info)["accuracy"] == 0.0


def test_zero_box_weight_leaves_the_box_head_untrained():
    # The two terms are separate: without the box term, the box head gets no gradient.
    model = build_classify_localize(3, input_shape=(32, 32, 3))
    compile_classify_localize(model, box_weight=0.0)
    before = model.get_layer("box").get_weights()
    class_before = model.get_layer("class_logits").get_weights()[0]
    rng = np.random.default_rng(3)
    model.fit(
        rng.uniform(0, 255, (8, 32, 32, 3)).astype(np.float32),
        {"class_logits": rng.integers(0, 3, 8), "box": rng.uniform(0, 1, (8, 4)).astype(np.float32)},
        batch_size=8, epochs=1, verbose=0,
    )
    for old, new in zip(before, model.get_layer("box").get_weights()):
        np.testing.assert_array_equal(old, new)
    assert not np.array_equal(class_before, model.get_layer("class_logits").get_weights()[0])


@pytest.mark.slow
def test_short_training_beats_the_prior():
    import keras

    import kzoo.data

    ds = kzoo.data.load("fashion_scenes/single", "train").take(512)
    pairs = [classify_localize_targets(e, (64, 64)) for e in ds]
    images = np.stack([x.numpy() for x, _ in pairs])
    targets = {key: np.stack([y[key].numpy() for _, y in pairs]) for key in ("class_logits", "box")}
    keras.utils.set_random_seed(0)
    model = build_classify_localize(10)
    weight = 2.0
    compile_classify_localize(model, box_weight=weight)
    history = model.fit(images, targets, batch_size=32, epochs=5, verbose=0)
    # The best constant prediction: class frequencies and the mean box.
    frequencies = np.bincount(targets["class_logits"], minlength=10) / len(images)
    prior = -np.sum(frequencies[frequencies > 0] * np.log(frequencies[frequencies > 0]))
    prior += weight * np.mean((targets["box"] - targets["box"].mean(0)) ** 2)
    assert history.history["loss"][-1] < prior


def test_weight_decay_shrinks_each_weight_by_learning_rate_times_decay():
    # Same weights, same batch: the decayed run differs from the plain one by exactly lr * decay * w.
    rng = np.random.default_rng(4)
    images = rng.uniform(0, 255, (8, 32, 32, 3)).astype(np.float32)
    targets = {"class_logits": rng.integers(0, 3, 8), "box": rng.uniform(0, 1, (8, 4)).astype(np.float32)}
    plain = build_classify_localize(3, input_shape=(32, 32, 3), dropout=0.0)
    decayed = build_classify_localize(3, input_shape=(32, 32, 3), dropout=0.0)
    decayed.set_weights(plain.get_weights())
    start = plain.get_layer("class_logits").kernel.numpy()
    compile_classify_localize(plain, learning_rate=1e-2)
    compile_classify_localize(decayed, learning_rate=1e-2, weight_decay=0.5)
    for model in (plain, decayed):
        model.fit(images, targets, batch_size=8, epochs=1, verbose=0)
    difference = plain.get_layer("class_logits").kernel.numpy() - decayed.get_layer("class_logits").kernel.numpy()
    np.testing.assert_allclose(difference, 1e-2 * 0.5 * start, rtol=1e-3, atol=1e-7)
