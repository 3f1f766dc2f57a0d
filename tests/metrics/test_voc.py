"""VOC mAP: hand cases and a literal translation of the VOC devkit's loops."""

import numpy as np
import pytest

from kzoo.metrics import voc_ap, voc_evaluate


def devkit_ap(recall, precision, use_11_point):
    """VOCevaldet.m's AP, loop for loop."""
    if use_11_point:
        ap = 0.0
        for t in np.arange(0, 1.1, 0.1):
            p = [precision[i] for i in range(len(recall)) if recall[i] >= t]
            ap += (max(p) if p else 0.0) / 11
        return ap
    mrec = [0.0] + list(recall) + [1.0]
    mpre = [0.0] + list(precision) + [0.0]
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    return sum((mrec[i] - mrec[i - 1]) * mpre[i] for i in range(1, len(mrec)) if mrec[i] != mrec[i - 1])


def iou(a, b):
    h = max(min(a[2], b[2]) - max(a[0], b[0]), 0)
    w = max(min(a[3], b[3]) - max(a[1], b[1]), 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - h * w
    return h * w / union if union > 0 else 0.0


def devkit_evaluate(elements, predictions, num_classes, use_11_point, threshold=0.5):
    aps = {}
    for c in range(num_classes):
        gts = {i: [(b, bool(d)) for b, k, d in zip(e["boxes"], e["classes"], e["is_crowd"]) if k == c]
               for i, e in enumerate(elements)}
        npos = sum(not d for g in gts.values() for _, d in g)
        dets = [(s, i, b) for i, p in enumerate(predictions)
                for b, s, k in zip(p["detection_boxes"], p["detection_scores"], p["detection_classes"]) if k == c]
        order = sorted(range(len(dets)), key=lambda j: -dets[j][0])  # Python's sort is stable
        taken = {i: [False] * len(g) for i, g in gts.items()}
        tp, fp = [], []
        for j in order:
            _, image, box = dets[j]
            overlaps = [iou(box, g) for g, _ in gts[image]]
            best = int(np.argmax(overlaps)) if overlaps else -1
            if best >= 0 and overlaps[best] >= threshold:
                if gts[image][best][1]:
                    continue  # difficult: neither
                tp.append(not taken[image][best])
                fp.append(taken[image][best])
                taken[image][best] = True
            else:
                tp.append(False)
                fp.append(True)
        if npos == 0:
            continue
        tp, fp = np.cumsum(tp), np.cumsum(fp)
        recall = tp / npos
        precision = tp / np.maximum(tp + fp, np.finfo(float).eps)
        aps[c] = devkit_ap(recall, precision, use_11_point)
    return aps


def test_ap_by_hand():
    # Points (R .5, P 1), (.5, .5), (1, 2/3).
    recall, precision = [0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3]
    assert voc_ap(recall, precision) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert voc_ap(recall, precision, use_11_point=True) == pytest.approx((6 * 1 + 5 * 2 / 3) / 11)
    assert voc_ap([], []) == 0.0


def test_duplicates_difficult_and_misses_by_hand():
    g1, g2, g3 = [0, 0, 0.2, 0.2], [0.5, 0.5, 0.7, 0.7], [0.3, 0.8, 0.5, 1.0]
    element = {"boxes": np.array([g1, g2, g3], np.float32), "classes": np.array([0, 0, 0]),
               "difficult": np.array([False, True, False])}
    prediction = {"detection_boxes": np.array([g1, g1, g2, [0.8, 0, 1, 0.2]], np.float32),
                  "detection_scores": np.array([0.9, 0.8, 0.7, 0.6]), "detection_classes": np.array([0, 0, 0, 0])}
    # Hit, duplicate (FP), difficult (neither), miss (FP); g3 is never found: npos 2.
    # Recall 0.5, 0.5, 0.5 with precision 1, 1/2, 1/3.
    assert voc_evaluate([element], [prediction])["mAP"] == pytest.approx(0.5)
    assert voc_evaluate([element], [prediction], use_11_point=True)["mAP"] == pytest.approx(6 / 11)


@pytest.mark.parametrize("use_11_point", [False, True])
def test_against_devkit_loops(use_11_point):
    rng = np.random.default_rng(4)
    elements, predictions = [], []
    for _ in range(25):
        m = int(rng.integers(0, 6))
        corner = rng.random((m, 2)) * 0.7
        boxes = np.concatenate([corner, corner + rng.uniform(0.05, 0.3, (m, 2))], 1)
        classes = rng.integers(0, 3, m)
        elements.append({"boxes": boxes, "classes": classes, "is_crowd": rng.random(m) < 0.15})
        k = int(rng.integers(0, 10))
        det = rng.random((k, 4)) * 0.5
        det[:, 2:] += det[:, :2]
        src = rng.integers(0, max(m, 1), k)
        near = (rng.random(k) < 0.7) & (m > 0)
        det[near] = boxes[src[near]] + rng.normal(0, 0.03, (near.sum(), 4))
        det_classes = np.where(near & (rng.random(k) < 0.8), classes[src] if m else 0, rng.integers(0, 3, k))
        predictions.append({"detection_boxes": det, "detection_scores": np.round(rng.random(k), 1),
                            "detection_classes": det_classes})
    ours = voc_evaluate(elements, predictions, use_11_point=use_11_point, num_classes=3)
    expected = devkit_evaluate(elements, predictions, 3, use_11_point)
    assert len(expected) == 3
    for c, ap in expected.items():
        assert ours["per_class_ap"][c] == pytest.approx(ap, abs=1e-12)
    assert ours["mAP"] == pytest.approx(np.mean(list(expected.values())), abs=1e-12)
