"""IoU, mean IoU and Dice for segmentation: the lecture's set definitions, Keras' MeanIoU, streaming."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo.metrics import DiceCoefficient, SegmentationIoU, binary_iou, dice_coefficient, segmentation_scores


def test_set_definitions_by_hand():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2, :2] = True  # |A| = 4
    b[1:3, 1:3] = True  # |B| = 4, |A n B| = 1
    assert dice_coefficient(a, b) == pytest.approx(2 * 1 / (4 + 4))
    assert binary_iou(a, b) == pytest.approx(1 / 7)
    assert dice_coefficient(a, a) == 1.0 and dice_coefficient(a, ~a) == 0.0
    assert dice_coefficient(np.zeros(3), np.zeros(3)) == 1.0  # two empty sets agree


def test_per_class_scores_by_hand_with_void():
    y_true = np.array([[0, 0, 1, 1], [2, 2, 255, 255]])
    y_pred = np.array([[0, 1, 1, 1], [2, 0, 2, 1]])
    s = segmentation_scores(y_true, y_pred, 3, ignore_class=255)
    # class 0: TP 1, FP 1, FN 1; class 1: TP 2, FP 1, FN 0; class 2: TP 1, FP 0, FN 1.
    np.testing.assert_allclose(s["iou"], [1 / 3, 2 / 3, 1 / 2])
    np.testing.assert_allclose(s["dice"], [2 / 4, 4 / 5, 2 / 3])
    assert s["mean_iou"] == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)
    assert s["pixel_accuracy"] == pytest.approx(4 / 6)  # the two void pixels are not counted


def test_absent_class_is_left_out_of_the_mean():
    s = segmentation_scores([[0, 0, 1]], [[0, 0, 1]], 4)
    assert np.isnan(s["iou"][2]) and np.isnan(s["iou"][3])
    assert s["mean_iou"] == 1.0 and s["mean_dice"] == 1.0


def test_streaming_iou_equals_keras_mean_iou_and_numpy():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 5, (3, 2, 16, 16))
    y_true[rng.random(y_true.shape) < 0.1] = 255
    probs = rng.random((3, 2, 16, 16, 5)).astype(np.float32)
    ours = SegmentationIoU(5, ignore_class=255)
    per_class = SegmentationIoU(5, average=None, ignore_class=255)
    dice = DiceCoefficient(5, ignore_class=255)
    keras_iou = keras.metrics.MeanIoU(5, ignore_class=255, sparse_y_pred=False)
    for t, p in zip(y_true, probs):
        for m in (ours, per_class, dice, keras_iou):
            m.update_state(t, p)
    expected = segmentation_scores(y_true, probs, 5, ignore_class=255, sparse_y_pred=False)
    assert float(ours.result()) == pytest.approx(float(keras_iou.result()), abs=1e-6)  # Keras' own MeanIoU
    assert float(ours.result()) == pytest.approx(expected["mean_iou"], abs=1e-6)
    np.testing.assert_allclose(per_class.result().numpy(), expected["iou"], atol=1e-6)
    assert float(dice.result()) == pytest.approx(expected["mean_dice"], abs=1e-6)


def test_dice_metric_in_graph_config_and_trailing_axis():
    metric = DiceCoefficient(2, average=None, sparse_y_pred=True)
    tf.function(metric.update_state)(tf.constant([[1, 1, 0, 0]]), tf.constant([[1, 0, 0, 0]]))
    np.testing.assert_allclose(metric.result().numpy(), [2 * 2 / (3 + 2), 2 * 1 / (1 + 2)], atol=1e-6)
    clone = DiceCoefficient.from_config(metric.get_config())
    assert clone.average is None and clone.num_classes == 2
    # [N, H, W, 1] labels against [N, H, W, C] scores, as Keras passes them.
    iou = SegmentationIoU(2)
    iou.update_state(np.array([[[[1], [0]]]]), np.array([[[[0.2, 0.8], [0.9, 0.1]]]]))
    assert float(iou.result()) == pytest.approx(1.0)
