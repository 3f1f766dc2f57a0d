import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo.losses import GIoULoss, SmoothL1Loss, generalized_iou, giou_loss, huber_loss, smooth_l1_loss
from kzoo.ops import boxes as box_ops
from tests.losses.finite_differences import central_difference


def np_smooth_l1(y_true, y_pred, beta):
    diff = np.abs(y_pred.astype(np.float64) - y_true)
    per_coord = diff if beta == 0 else np.where(diff < beta, 0.5 * diff**2 / beta, diff - 0.5 * beta)
    return per_coord.sum(-1)


def np_giou(a, b):
    """GIoU of two [ymin, xmin, ymax, xmax] boxes, from the paper's algorithm."""
    area = lambda r: max(r[2] - r[0], 0.0) * max(r[3] - r[1], 0.0)  # noqa: E731
    inter = area([max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])])
    union = area(a) + area(b) - inter
    hull = area([min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])])
    iou = inter / union if union > 0 else 0.0
    return iou - ((hull - union) / hull if hull > 0 else 0.0)


def random_boxes(rng, shape):
    corner = rng.random(shape + (2,)) * 0.7
    size = rng.random(shape + (2,)) * 0.3 + 0.01
    return np.concatenate([corner, corner + size], -1).astype(np.float32)


def test_smooth_l1_hand_values():
    # beta = 1: |0.5| -> 0.5 * 0.25 = 0.125; |2| -> 2 - 0.5 = 1.5; |-0.2| -> 0.02; 0 -> 0.
    value = smooth_l1_loss([[0.0, 0.0, 0.0, 0.0]], [[0.5, 2.0, -0.2, 0.0]], beta=1.0, reduction="none")
    np.testing.assert_allclose(value, [0.125 + 1.5 + 0.02], rtol=1e-6)
    np.testing.assert_allclose(smooth_l1_loss([[0.0] * 4], [[0.5, 2.0, -0.2, 0.0]], beta=0.0), 2.7, rtol=1e-6)


@pytest.mark.parametrize("beta", [0.0, 1.0 / 9.0, 1.0])
def test_smooth_l1_matches_numpy_with_weights(beta):
    rng = np.random.default_rng(0)
    y_true = rng.normal(size=(2, 6, 4)).astype(np.float32)
    y_pred = rng.normal(size=(2, 6, 4)).astype(np.float32)
    weights = (rng.random((2, 6)) < 0.5).astype(np.float32) * rng.random((2, 6)).astype(np.float32)
    per_anchor = np_smooth_l1(y_true, y_pred, beta)
    np.testing.assert_allclose(smooth_l1_loss(y_true, y_pred, beta, reduction="none"), per_anchor, rtol=1e-5)
    weighted = (per_anchor * weights).sum()
    np.testing.assert_allclose(smooth_l1_loss(y_true, y_pred, beta, weights), weighted, rtol=1e-5)
    mean = smooth_l1_loss(y_true, y_pred, beta, weights, "mean")
    np.testing.assert_allclose(mean, weighted / weights.sum(), rtol=1e-5)
    packed = np.concatenate([y_true, weights[..., None]], -1)
    np.testing.assert_allclose(SmoothL1Loss(beta)(packed, y_pred), weighted / weights.sum(), rtol=1e-5)


def test_huber_agrees_with_keras_and_smooth_l1():
    rng = np.random.default_rng(1)
    y_true = rng.normal(size=(3, 5, 4)).astype(np.float32)
    y_pred = rng.normal(scale=2.0, size=(3, 5, 4)).astype(np.float32)
    for delta in (0.5, 1.0, 2.0):
        keras_huber = keras.losses.Huber(delta=delta, reduction=None)(y_true, y_pred)
        np.testing.assert_allclose(huber_loss(y_true, y_pred, delta, reduction="none") / 4, keras_huber, rtol=1e-5)
        np.testing.assert_allclose(
            huber_loss(y_true, y_pred, delta), delta * smooth_l1_loss(y_true, y_pred, delta), rtol=1e-5
        )


def test_zero_weights_give_exactly_zero_and_no_gradient():
    y_pred = tf.constant([[[1.0, 2.0, 3.0, 4.0], [1e30, -1e30, 0.0, 0.0]]])
    y_true = tf.zeros([1, 2, 4])
    weights = tf.constant([[0.0, 0.0]])
    with tf.GradientTape() as tape:
        tape.watch(y_pred)
        value = smooth_l1_loss(y_true, y_pred, weights=weights, reduction="mean")
        packed = tf.concat([y_true, weights[..., None]], -1)
        class_value = SmoothL1Loss()(packed, y_pred) + GIoULoss()(packed, y_pred)
    assert float(value) == 0.0 and float(class_value) == 0.0
    assert not np.any(tape.gradient(class_value, y_pred))


def test_giou_hand_values():
    # 0.4 x 0.4 boxes offset by 0.1: intersection 0.09, union 0.23, hull 0.25.
    a, b = [0.1, 0.1, 0.5, 0.5], [0.2, 0.2, 0.6, 0.6]
    np.testing.assert_allclose(generalized_iou(a, b), 0.09 / 0.23 - 0.02 / 0.25, rtol=1e-6)
    np.testing.assert_allclose(giou_loss([a], [a]), 0.0, atol=1e-7)
    # Disjoint boxes: IoU 0, hull 0.5 x 0.5 holds 0.02 of union: GIoU = -(0.25 - 0.02) / 0.25.
    np.testing.assert_allclose(
        giou_loss([[0.0, 0.0, 0.1, 0.1]], [[0.4, 0.4, 0.5, 0.5]]), 1.0 + 0.23 / 0.25, rtol=1e-6
    )


def test_giou_matches_numpy_and_iou_where_hull_is_union():
    rng = np.random.default_rng(2)
    a, b = random_boxes(rng, (3, 8)), random_boxes(rng, (3, 8))
    reference = np.array([[np_giou(a[i, j], b[i, j]) for j in range(8)] for i in range(3)])
    np.testing.assert_allclose(generalized_iou(a, b), reference, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(giou_loss(a, b, reduction="none"), 1.0 - reference, rtol=1e-5, atol=1e-6)
    # A box inside another: the hull is the union, so GIoU equals IoU.
    inner = np.concatenate([a[..., :2] + 0.001, a[..., 2:] - 0.001], -1)
    np.testing.assert_allclose(generalized_iou(a, inner), box_ops.elementwise_iou(a, inner), rtol=1e-5)


def test_giou_zero_area_boxes_are_finite():
    boxes_true = tf.constant([[0.2, 0.2, 0.2, 0.2], [0.1, 0.1, 0.5, 0.5], [0.3, 0.3, 0.3, 0.6]])
    boxes_pred = tf.constant([[0.2, 0.2, 0.2, 0.2], [0.3, 0.3, 0.3, 0.3], [0.5, 0.5, 0.4, 0.4]])
    with tf.GradientTape() as tape:
        tape.watch(boxes_pred)
        per_box = giou_loss(boxes_true, boxes_pred, reduction="none")
    # Coincident points: empty hull, GIoU 0. A point inside a box: IoU 0, hull = union.
    np.testing.assert_allclose(per_box[:2], [1.0, 1.0], atol=1e-7)
    assert np.all(np.isfinite(per_box)) and np.all(np.isfinite(tape.gradient(per_box, boxes_pred)))


def test_giou_gradient_matches_finite_differences():
    # Box math is float32, so the step and tolerance follow float32 precision
    # (rounding error about 1e-7 / 1e-3 per step).
    rng = np.random.default_rng(3)
    boxes_true, boxes_pred = random_boxes(rng, (4,)), random_boxes(rng, (4,))
    boxes_pred[0] = boxes_true[0] + 0.02
    x = tf.constant(boxes_pred)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = giou_loss(boxes_true, x)
    numeric = central_difference(lambda v: giou_loss(boxes_true, v), boxes_pred, eps=1e-3)
    np.testing.assert_allclose(tape.gradient(value, x), numeric, atol=2e-3)


def test_smooth_l1_gradient_matches_finite_differences():
    rng = np.random.default_rng(4)
    y_true, y_pred = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    weights = np.array([1.0, 0.0, 0.5])
    x = tf.constant(y_pred)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = smooth_l1_loss(y_true, x, 0.5, weights, "mean")
    numeric = central_difference(lambda v: smooth_l1_loss(y_true, v, 0.5, weights, "mean"), y_pred)
    np.testing.assert_allclose(tape.gradient(value, x), numeric, rtol=1e-6, atol=1e-9)


def test_config_round_trip():
    for loss in (SmoothL1Loss(beta=0.11, name="box"), GIoULoss(reduction="sum")):
        config = loss.get_config()
        assert type(loss).from_config(config).get_config() == config
