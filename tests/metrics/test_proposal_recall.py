"""Proposal recall and average recall, by hand and against a brute-force loop."""

import numpy as np
import pytest

from kzoo.metrics.proposals import COCO_IOU_THRESHOLDS, proposal_recall


def _hand_case():
    """Two objects; proposal IoUs 0.725 (object 1), 0.58 and then 0.94 (object 2)."""
    gt = np.array([[0.0, 0.0, 0.4, 0.4], [0.5, 0.5, 1.0, 1.0]])
    proposals = np.array([
        [0.0, 0.0, 0.4, 0.29],   # object 1: 0.116 / 0.16 = 0.725
        [0.5, 0.5, 1.0, 0.79],   # object 2: 0.145 / 0.25 = 0.58
        [0.5, 0.5, 1.0, 0.97],   # object 2: 0.235 / 0.25 = 0.94
        [0.0, 0.0, 0.0, 0.0],    # padding
    ])
    return gt, proposals


def test_by_hand():
    gt, proposals = _hand_case()
    result = proposal_recall([gt], [proposals], counts=(1, 2, 3, 100))
    # Thresholds 0.5, 0.55, ..., 0.95: IoU 0.725 passes 5 of them, 0.58
    # passes 2, 0.94 passes 9.
    assert result["num_ground_truth"] == 2
    assert result["AR@1"] == pytest.approx((5 + 0) / 20) and result["AR50@1"] == 0.5
    assert result["AR@2"] == pytest.approx((5 + 2) / 20) and result["AR50@2"] == 1.0
    assert result["AR@3"] == pytest.approx((5 + 9) / 20) and result["AR50@3"] == 1.0
    assert result["AR@100"] == result["AR@3"]  # fewer proposals than N: all of them; padding never counts
    np.testing.assert_allclose(result["recall"][2], [1, 1, 0.5, 0.5, 0.5, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(result["iou_thresholds"], COCO_IOU_THRESHOLDS)


def test_elements_mapping_crowds_padding_and_empty_images():
    gt, proposals = _hand_case()
    elements = [
        {"image_id": 7, "boxes": np.concatenate([gt, [[0, 0, 1, 1], [0, 0, 0, 0]]]),
         "classes": np.array([0, 1, 2, -1]), "is_crowd": np.array([False, False, True, False])},
        {"image_id": 9, "boxes": np.array([[0.2, 0.2, 0.3, 0.3]]), "classes": np.array([4])},
        {"image_id": 3, "boxes": np.zeros((0, 4)), "classes": np.zeros(0, int)},
    ]
    by_id = {7: proposals, 9: np.zeros((5, 4)), 3: proposals}
    result = proposal_recall(elements, by_id, counts=(3,))
    # Crowd and padding rows are not objects; the object of image 9 has no proposal.
    assert result["num_ground_truth"] == 3
    assert result["AR@3"] == pytest.approx((5 + 9 + 0) / 30)
    assert result["AR50@3"] == pytest.approx(2 / 3)
    assert np.isnan(proposal_recall([np.zeros((0, 4))], [proposals])["AR@100"])
    with pytest.raises(ValueError):
        proposal_recall([gt, gt], [proposals])


def _random_boxes(rng, n):
    corners = rng.uniform(0, 1, (n, 2, 2))
    return np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=-1)


def _brute_force(gt_per_image, proposals_per_image, n, thresholds):
    hits, total = np.zeros(len(thresholds)), 0
    for gt, proposals in zip(gt_per_image, proposals_per_image):
        for g in gt:
            total += 1
            best = 0.0
            for p in proposals[:n]:
                h = max(0.0, min(g[2], p[2]) - max(g[0], p[0]))
                w = max(0.0, min(g[3], p[3]) - max(g[1], p[1]))
                inter = h * w
                union = (g[2] - g[0]) * (g[3] - g[1]) + (p[2] - p[0]) * (p[3] - p[1]) - inter
                best = max(best, inter / union)
            hits += [best >= t for t in thresholds]
    return hits / total


def test_against_brute_force():
    rng = np.random.default_rng(0)
    gt = [_random_boxes(rng, m) for m in (3, 0, 5, 1)]
    # Proposals near the objects, so recall is neither 0 nor 1.
    proposals = []
    for boxes in gt:
        near = np.concatenate([boxes + rng.normal(0, 0.05, boxes.shape) for _ in range(20)]) if len(boxes) else []
        candidates = np.concatenate([np.reshape(near, (-1, 4)), _random_boxes(rng, 30)])
        candidates = np.concatenate([np.minimum(candidates[:, :2], candidates[:, 2:]),
                                     np.maximum(candidates[:, :2], candidates[:, 2:])], axis=-1)
        proposals.append(rng.permutation(candidates))
    result = proposal_recall(gt, proposals, counts=(5, 20, 1000))
    for n in (5, 20, 1000):
        expected = _brute_force(gt, proposals, n, COCO_IOU_THRESHOLDS)
        np.testing.assert_allclose(result["recall"][n], expected)
        assert result[f"AR@{n}"] == pytest.approx(expected.mean())
        assert result[f"AR50@{n}"] == pytest.approx(_brute_force(gt, proposals, n, [0.5])[0])
    assert 0 < result["AR@5"] < result["AR@20"] < 1
