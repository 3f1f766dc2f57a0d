"""Box IoU and classification + localization accuracy."""

import numpy as np
import pytest
import tensorflow as tf

from kzoo.metrics import LocalizationAccuracy, box_iou, elementwise_box_iou, localization_accuracy
from kzoo.metrics.localization import box_intersection_over_area
from kzoo.ops import boxes as box_ops


def test_iou_by_hand():
    # Two 2x2 boxes overlapping in a 1x1 square: 1 / (4 + 4 - 1).
    assert box_iou([[0, 0, 2, 2]], [[1, 1, 3, 3]])[0, 0] == pytest.approx(1 / 7)
    assert box_iou([[0, 0, 1, 1]], [[0, 0, 1, 1]])[0, 0] == 1.0  # perfect overlap
    assert box_iou([[0, 0, 1, 1]], [[2, 2, 3, 3]])[0, 0] == 0.0  # none
    assert box_iou([[0, 0, 0, 0]], [[0, 0, 0, 0]])[0, 0] == 0.0  # empty union
    # A small box inside a crowd region: IoU is small, intersection over its own area is 1.
    assert box_intersection_over_area([[0, 0, 1, 1]], [[0, 0, 4, 4]])[0, 0] == 1.0


def test_iou_matches_kzoo_tf_op():
    rng = np.random.default_rng(0)
    a = np.sort(rng.random((7, 2, 2)), axis=1).transpose(0, 2, 1).reshape(7, 4)[:, [0, 2, 1, 3]]
    b = np.sort(rng.random((5, 2, 2)), axis=1).transpose(0, 2, 1).reshape(5, 4)[:, [0, 2, 1, 3]]
    np.testing.assert_allclose(box_iou(a, b), box_ops.pairwise_iou(a, b).numpy(), atol=1e-6)
    np.testing.assert_allclose(elementwise_box_iou(a[:5], b), box_ops.elementwise_iou(a[:5], b).numpy(), atol=1e-6)


def test_localization_accuracy_by_hand():
    true_boxes = np.array([[0, 0, 1, 1]] * 4, np.float32)
    pred_boxes = np.array([[0, 0, 1, 1], [0, 0, 0.8, 0.8], [0, 0, 0.5, 0.5], [0, 0, 1, 1]], np.float32)
    # IoUs 1, 0.64, 0.25, 1; classes right, right, right, wrong.
    out = localization_accuracy([1, 2, 3, 4], true_boxes, [1, 2, 3, 0], pred_boxes)
    assert out["accuracy"] == pytest.approx(2 / 4)
    assert out["classification_accuracy"] == pytest.approx(3 / 4)
    assert out["box_accuracy"] == pytest.approx(3 / 4)
    assert out["mean_iou"] == pytest.approx((1 + 0.64 + 0.25 + 1) / 4)
    probabilities = np.eye(5)[[1, 2, 3, 0]]
    assert localization_accuracy([1, 2, 3, 4], true_boxes, probabilities, pred_boxes)["accuracy"] == 0.5

    metric = LocalizationAccuracy()
    tf.function(metric.update_state)({"classes": tf.constant([1, 2]), "boxes": true_boxes[:2]},
                                     {"probabilities": probabilities[:2], "boxes": pred_boxes[:2]})
    metric.update_state({"classes": [3, 4], "boxes": true_boxes[2:]}, {"classes": [3, 0], "boxes": pred_boxes[2:]})
    assert float(metric.result()) == pytest.approx(0.5)
    assert LocalizationAccuracy.from_config(LocalizationAccuracy(0.7).get_config()).iou_threshold == 0.7
