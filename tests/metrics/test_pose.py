"""PCK, PCKh and OKS: hand cases and agreement with the COCO evaluator's OKS."""

import numpy as np
import pytest
import tensorflow as tf

from kzoo.metrics import PercentageOfCorrectKeypoints, oks, pck, pckh
from kzoo.metrics import fast_coco_match
from kzoo.metrics.fast_coco import COCO_KEYPOINT_SIGMAS


def test_pck_by_hand():
    # Figure 10 wide (labeled joints at x = 0 and 10): threshold 0.2 * 10 = 2.
    true = np.array([[[0, 0, 2], [0, 10, 2], [5, 5, 0]]], np.float64)
    pred = np.array([[[1, 0], [0, 13], [50, 50]]], np.float64)  # errors 1 and 3; the third is unlabeled
    out = pck(pred, true, alpha=0.2)
    assert out["pck"] == 0.5
    np.testing.assert_array_equal(out["per_joint"][:2], [1.0, 0.0])
    assert np.isnan(out["per_joint"][2])
    assert pck(pred, true, alpha=0.3)["pck"] == 1.0  # threshold 3 takes the second too
    # In pixels of a 100 x 200 image the same normalized points are 20 px wide apart.
    assert pck(pred / 100, true * [0.01, 0.01, 1], alpha=0.2, image_size=(100, 200))["pck"] == 0.5


def test_pckh_uses_the_head_segment():
    true = np.array([[[0, 0, 2], [4, 0, 2], [0, 20, 2]]], np.float64)  # head segment 0-1 is 4 long
    pred = np.array([[[0, 1.5], [4, 0], [0, 23]]], np.float64)  # errors 1.5, 0, 3
    assert pckh(pred, true, alpha=0.5, head_joints=(0, 1))["pck"] == pytest.approx(2 / 3)
    assert pckh(pred, true, alpha=0.5, head_sizes=[8.0])["pck"] == 1.0
    with pytest.raises(ValueError):
        pckh(pred, true)


def test_streaming_pck_equals_function():
    rng = np.random.default_rng(0)
    true = np.concatenate([rng.random((6, 14, 2)), rng.integers(0, 3, (6, 14, 1))], -1)
    pred = true[..., :2] + rng.normal(0, 0.05, (6, 14, 2))
    metric = PercentageOfCorrectKeypoints(alpha=0.2)
    tf.function(metric.update_state)(true[:3], pred[:3])
    metric.update_state(true[3:], pred[3:])
    assert float(metric.result()) == pytest.approx(pck(pred, true, alpha=0.2)["pck"], abs=1e-6)
    assert PercentageOfCorrectKeypoints.from_config(metric.get_config()).alpha == 0.2


def test_oks_by_hand_and_against_coco_evaluator():
    # d^2 = 4, area 100, sigma 0.1 (k = 0.2): exp(-4 / (2 * 100 * 0.04)) = exp(-0.5).
    value = oks(np.array([[[10.0, 12.0]]]), np.array([[[10.0, 10.0, 2]]]), [100.0], sigmas=[0.1])
    assert value[0, 0] == pytest.approx(np.exp(-0.5))
    assert np.isnan(oks(np.zeros((1, 1, 2)), np.zeros((1, 1, 3)), [1.0], [0.1])[0, 0])  # nothing labeled

    rng = np.random.default_rng(1)
    true = np.concatenate([rng.random((3, 17, 2)) * 50, rng.integers(1, 3, (3, 17, 1))], -1)
    true[0, :5, 2] = 0
    pred = rng.random((4, 17, 2)) * 50
    areas = rng.uniform(100, 900, 3)
    ours = oks(pred, true, areas)
    # The COCO evaluator takes (x, y, v) and boxes; OKS does not care which axis is which.
    gt = {"keypoints": true[..., [1, 0, 2]], "bbox": np.zeros((3, 4)), "area": areas}
    dt = np.concatenate([pred[..., [1, 0]], np.ones((4, 17, 1))], -1)
    coco = fast_coco_match.oks(dt, gt, COCO_KEYPOINT_SIGMAS, np.arange(4)[None], np.arange(3)[None])[0]
    np.testing.assert_allclose(ours, coco, rtol=1e-12)
