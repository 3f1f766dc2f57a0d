"""Precision/recall at a threshold, PR curves and the detection confusion matrix."""

import numpy as np
import pytest

from kzoo.metrics import detection_confusion_matrix, pr_curves, precision_recall
from tests.metrics.coco_cases import random_elements

A, B, C = [0.0, 0.0, 0.2, 0.2], [0.5, 0.5, 0.7, 0.7], [0.2, 0.7, 0.4, 0.9]


def _scene():
    element = {"height": 100, "width": 100, "boxes": np.array([A, B, C], np.float32),
               "classes": np.array([0, 1, 0], np.int32)}
    prediction = {"detection_boxes": np.array([A, A, B, C], np.float32),
                  "detection_scores": np.array([0.9, 0.8, 0.7, 0.3], np.float32),
                  "detection_classes": np.array([0, 0, 0, 0], np.float32)}
    return element, prediction


def test_precision_recall_by_hand():
    # Class 0: A found (0.9), A again (0.8: duplicate, FP), B called class 0
    # (0.7: FP), C found only at 0.3 (below the threshold). Class 1: B missed.
    element, prediction = _scene()
    out = precision_recall([element], [prediction], iou_threshold=0.5, score_threshold=0.5)
    np.testing.assert_array_equal(out["tp"], [1, 0])
    np.testing.assert_array_equal(out["fp"], [2, 0])
    np.testing.assert_array_equal(out["fn"], [1, 1])
    np.testing.assert_allclose(out["precision"], [1 / 3, 0.0])  # TP / (TP + FP); 0/0 reads 0
    np.testing.assert_allclose(out["recall"], [1 / 2, 0.0])  # TP / (TP + FN)
    assert out["total_precision"] == pytest.approx(1 / 3) and out["total_recall"] == pytest.approx(1 / 3)
    low = precision_recall([element], [prediction], score_threshold=0.2)
    np.testing.assert_array_equal(low["tp"], [2, 0])
    np.testing.assert_array_equal(low["fn"], [0, 1])


def test_pr_curve_by_hand():
    element, prediction = _scene()
    curves = pr_curves([element], [prediction])
    np.testing.assert_allclose(curves[0]["precision"], [1, 1 / 2, 1 / 3, 2 / 4])
    np.testing.assert_allclose(curves[0]["recall"], [0.5, 0.5, 0.5, 1.0])
    np.testing.assert_allclose(curves[0]["scores"], [0.9, 0.8, 0.7, 0.3])
    assert curves[0]["ap"] == pytest.approx(0.5 * 1 + 0.5 * 0.5)
    assert curves[1]["num_groundtruth"] == 1 and len(curves[1]["recall"]) == 0


def reference_counts(elements, predictions, iou_threshold, score_threshold, num_classes):
    """TP and FP per class with COCO's greedy rule, written as plain loops."""
    tp, fp = np.zeros(num_classes, int), np.zeros(num_classes, int)
    for e, p in zip(elements, predictions):
        n = int(p["num_detections"])
        for c in range(num_classes):
            gts = [(b, crowd) for b, k, crowd in zip(e["boxes"], e["classes"], e["is_crowd"]) if k == c]
            dets = sorted([(s, b) for b, s, k in zip(p["detection_boxes"][:n], p["detection_scores"][:n],
                                                      p["detection_classes"][:n]) if k == c], key=lambda d: -d[0])
            used = [False] * len(gts)
            for score, box in dets:
                best, best_iou = -1, iou_threshold
                for j, (g, crowd) in enumerate(gts):  # regular boxes first
                    if not crowd and not used[j] and _iou(box, g) >= best_iou:
                        best, best_iou = j, _iou(box, g)
                if best < 0 and any(crowd and _ioa(box, g) >= iou_threshold for g, crowd in gts):
                    continue  # inside a crowd region: neither
                if score >= score_threshold:
                    tp[c] += best >= 0
                    fp[c] += best < 0
                if best >= 0:
                    used[best] = True
    return tp, fp


def _iou(a, b):
    h = max(min(a[2], b[2]) - max(a[0], b[0]), 0)
    w = max(min(a[3], b[3]) - max(a[1], b[1]), 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - h * w
    return h * w / union if union > 0 else 0.0


def _ioa(a, b):
    h = max(min(a[2], b[2]) - max(a[0], b[0]), 0)
    w = max(min(a[3], b[3]) - max(a[1], b[1]), 0)
    area = (a[2] - a[0]) * (a[3] - a[1])
    return h * w / area if area > 0 else 0.0


def test_precision_recall_against_loops():
    elements, predictions = random_elements(11, num_images=15, num_classes=3)
    out = precision_recall(elements, predictions, 0.5, 0.4, num_classes=3)
    tp, fp = reference_counts(elements, predictions, 0.5, 0.4, 3)
    np.testing.assert_array_equal(out["tp"], tp)
    np.testing.assert_array_equal(out["fp"], fp)
    npos = np.bincount(np.concatenate([e["classes"][~e["is_crowd"]] for e in elements]), minlength=3)
    np.testing.assert_array_equal(out["fn"], npos - tp)  # never drops ground truth
    assert out["tp"].sum() > 0 and out["fp"].sum() > 0


def test_confusion_matrix_by_hand():
    # A found as class 0; B (class 1) called class 2; C (class 2) missed; a
    # detection of class 1 on nothing; one inside a crowd region (not
    # counted); one below the score threshold.
    crowd = [0.6, 0.0, 1.0, 0.4]
    element = {"height": 50, "width": 50, "boxes": np.array([A, B, C, crowd, [0, 0, 0, 0]], np.float32),
               "classes": np.array([0, 1, 2, 1, -1], np.int32), "is_crowd": np.array([0, 0, 0, 1, 0], bool)}
    prediction = {"detection_boxes": np.array([A, B, [0.8, 0.8, 1, 1], [0.7, 0.1, 0.8, 0.2], C], np.float32),
                  "detection_scores": np.array([0.9, 0.8, 0.7, 0.6, 0.1], np.float32),
                  "detection_classes": np.array([0, 2, 1, 0, 2], np.float32)}
    matrix = detection_confusion_matrix([element], [prediction], num_classes=3)
    expected = np.zeros((4, 4), int)
    expected[0, 0] = 1  # right
    expected[1, 2] = 1  # class confusion
    expected[2, 3] = 1  # missed object: background column
    expected[3, 1] = 1  # false detection: background row
    np.testing.assert_array_equal(matrix, expected)
