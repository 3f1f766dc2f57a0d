import math

import numpy as np
import pytest
import tensorflow as tf

from kzoo.losses import (
    KeypointCoordinateLoss,
    KeypointHeatmapLoss,
    keypoint_coordinate_loss,
    keypoint_heatmap_loss,
    keypoint_heatmap_targets,
)
from tests.losses.finite_differences import central_difference


def np_heatmap_loss(indices, logits, visibility):
    """Visibility-weighted mean of -log softmax over the h * w positions of each keypoint."""
    h, w, num_joints = logits.shape[-3:]
    total = weight = 0.0
    for index in np.ndindex(indices.shape[:-1]):
        for j in range(num_joints):
            v = visibility[index + (j,)]
            if v <= 0:
                continue
            scores = logits[index][..., j].reshape(h * w)
            log_probs = scores - scores.max() - np.log(np.exp(scores - scores.max()).sum())
            total -= v * log_probs[indices[index + (j,)]]
            weight += v
    return total / weight if weight else 0.0


def heatmap_batch(seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(2, 3, 4, 5, 2)).astype(np.float32)  # [N, R, h, w, J]
    indices = rng.integers(0, 20, size=(2, 3, 2)).astype(np.int32)
    visibility = (rng.random((2, 3, 2)) < 0.6).astype(np.float32)
    return indices, logits, visibility


def test_hand_computed_uniform_heatmap():
    # Equal logits over a 4 x 4 map: each visible keypoint costs ln 16.
    value = keypoint_heatmap_loss([[5, -1]], tf.zeros([1, 4, 4, 2]))
    np.testing.assert_allclose(value, math.log(16.0), rtol=1e-6)


def test_heatmap_matches_numpy_tf_and_dense_form():
    indices, logits, visibility = heatmap_batch(0)
    expected = np_heatmap_loss(indices, logits.astype(np.float64), visibility)
    np.testing.assert_allclose(keypoint_heatmap_loss(indices, logits, visibility), expected, rtol=1e-5)
    # TF's own sparse softmax cross-entropy over the flattened positions.
    flat = np.moveaxis(logits.reshape(2, 3, 20, 2), -1, -2)
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=indices, logits=flat)
    np.testing.assert_allclose(
        keypoint_heatmap_loss(indices, logits, visibility, "none"), ce * visibility, rtol=1e-5, atol=1e-6
    )
    dense = np.moveaxis(np.eye(20, dtype=np.float32)[indices] * visibility[..., None], -2, -1).reshape(logits.shape)
    np.testing.assert_allclose(keypoint_heatmap_loss(dense, logits), expected, rtol=1e-5)
    np.testing.assert_allclose(KeypointHeatmapLoss()(dense, logits), expected, rtol=1e-5)
    hidden = np.where(visibility > 0, indices, -1)
    np.testing.assert_allclose(KeypointHeatmapLoss()(hidden, logits), expected, rtol=1e-5)


def test_heatmap_targets_hand_cases():
    box = [0.2, 0.4, 0.6, 0.8]  # 0.4 x 0.4, heatmap 4 x 4: bins of 0.1
    keypoints = [
        [0.25, 0.45, 2.0],  # row 0, col 0
        [0.45, 0.75, 1.0],  # row 2, col 3
        [0.6, 0.8, 2.0],  # far corner: last bin, not one past it
        [0.1, 0.5, 2.0],  # above the box: dropped
        [0.3, 0.5, 0.0],  # not labelled
    ]
    indices, visibility = keypoint_heatmap_targets([keypoints], [box], (4, 4))
    np.testing.assert_array_equal(visibility, [[1, 1, 1, 0, 0]])
    np.testing.assert_array_equal(indices[0, :3], [0, 2 * 4 + 3, 15])
    _, visibility = keypoint_heatmap_targets([keypoints], [[0.3, 0.5, 0.3, 0.9]], (4, 4))
    assert not np.any(visibility)  # a zero-height RoI has no heatmap


def test_no_visible_keypoints_is_exactly_zero():
    indices, logits, _ = heatmap_batch(1)
    x = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = keypoint_heatmap_loss(indices, x, np.zeros(indices.shape, np.float32))
    assert float(value) == 0.0 and not np.any(tape.gradient(value, x))
    assert float(KeypointCoordinateLoss()(np.zeros((2, 3, 3), np.float32), np.ones((2, 3, 2), np.float32))) == 0.0


@pytest.mark.parametrize("norm", ["l2", "l1"])
def test_coordinates_match_numpy(norm):
    rng = np.random.default_rng(2)
    truth = rng.random((3, 5, 2)).astype(np.float32)
    visible = rng.integers(0, 3, size=(3, 5)).astype(np.float32)  # COCO flags 0, 1, 2
    pred = rng.random((3, 5, 2)).astype(np.float32)
    diff = pred.astype(np.float64) - truth
    per_joint = (diff**2).sum(-1) if norm == "l2" else np.abs(diff).sum(-1)
    counted = visible > 0
    expected = per_joint[counted].mean()
    packed = np.concatenate([truth, visible[..., None]], -1)
    np.testing.assert_allclose(keypoint_coordinate_loss(packed, pred, norm=norm), expected, rtol=1e-5)
    np.testing.assert_allclose(keypoint_coordinate_loss(truth, pred, visible, norm), expected, rtol=1e-5)
    np.testing.assert_allclose(KeypointCoordinateLoss(norm)(packed, pred), expected, rtol=1e-5)
    np.testing.assert_allclose(keypoint_coordinate_loss(truth, pred, norm=norm), per_joint.mean(), rtol=1e-5)


def test_coordinate_hand_value():
    # One visible joint off by 0.1 in y: L2 0.01, L1 0.1; the hidden one is ignored.
    truth = [[[0.5, 0.5, 1.0], [0.0, 0.0, 0.0]]]
    pred = [[[0.4, 0.5], [0.9, 0.9]]]
    np.testing.assert_allclose(keypoint_coordinate_loss(truth, pred), 0.01, rtol=1e-5)
    np.testing.assert_allclose(keypoint_coordinate_loss(truth, pred, norm="l1"), 0.1, rtol=1e-5)


def test_heatmap_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(1, 2, 3, 2))
    indices = np.array([[4, 1]], np.int32)
    visibility = np.array([[1.0, 0.5]])
    x = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = keypoint_heatmap_loss(indices, x, visibility)
    numeric = central_difference(lambda v: keypoint_heatmap_loss(indices, v, visibility), logits)
    np.testing.assert_allclose(tape.gradient(value, x), numeric, rtol=1e-6, atol=1e-9)


def test_config_round_trip():
    with pytest.raises(ValueError):
        KeypointCoordinateLoss(norm="l3")
    for loss in (KeypointHeatmapLoss(name="kp"), KeypointCoordinateLoss(norm="l1")):
        config = loss.get_config()
        assert type(loss).from_config(config).get_config() == config
