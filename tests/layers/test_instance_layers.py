"""Mask R-CNN's and R-FCN's layers: standard checks, and their numbers against values worked out by hand."""

import math

import numpy as np
import tensorflow as tf

from kzoo.layers import KeypointDecoder, MaskDecoder, PSRoIHead, RoIConvHead, RoIKeypointLosses, RoIMaskLosses
from tests.helpers import check_layer

RNG = np.random.default_rng(0)


def test_roi_conv_head_mask_and_keypoint_forms():
    pooled = RNG.normal(size=(2, 3, 6, 6, 4)).astype(np.float32)
    check_layer(RoIConvHead, {"num_outputs": 3, "num_convs": 1, "channels": 8}, pooled,
                expected_output_shapes=[(2, 3, 12, 12, 3)])
    check_layer(RoIConvHead, {"num_outputs": 5, "num_convs": 2, "channels": 8, "upsampling": 4}, pooled,
                expected_output_shapes=[(2, 3, 24, 24, 5)])


def test_mask_decoder_keeps_each_detections_class():
    logits = RNG.normal(size=(2, 3, 4, 4, 5)).astype(np.float32)
    classes = np.array([[0, 4, 2], [1, 1, 3]], np.int32)
    boxes = np.tile(np.array([0.1, 0.2, 0.6, 0.9], np.float32), (2, 3, 1))
    boxes[1, 2] = 0.0  # a padding row
    (got,) = check_layer(MaskDecoder, {}, [logits, classes, boxes], expected_output_shapes=[(2, 3, 4, 4)], fit=False)
    want = 1.0 / (1.0 + np.exp(-np.take_along_axis(logits, classes[:, :, None, None, None], axis=-1)[..., 0]))
    want[1, 2] = 0.0
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_keypoint_decoder_reads_the_best_cell_in_image_coordinates():
    heatmaps = np.zeros((1, 3, 4, 4, 2), np.float32)
    heatmaps[0, 0, 2, 3, 0] = 10.0  # joint 0 of detection 0: row 2, column 3
    heatmaps[0, 0, 0, 0, 1] = 10.0
    heatmaps[0, 2, 1, 1, :] = 10.0
    boxes = np.array([[[0.2, 0.4, 0.6, 0.8], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]]], np.float32)
    got = KeypointDecoder()([heatmaps, boxes])
    points, scores = got["detection_keypoints"].numpy(), got["detection_keypoint_scores"].numpy()
    # Cell centres: y = 0.2 + 2.5 / 4 * 0.4, x = 0.4 + 3.5 / 4 * 0.4.
    np.testing.assert_allclose(points[0, 0, 0], [0.45, 0.75], atol=1e-6)
    np.testing.assert_allclose(points[0, 0, 1], [0.25, 0.45], atol=1e-6)
    np.testing.assert_allclose(scores[0, 0], math.exp(10) / (math.exp(10) + 15), atol=1e-6)
    np.testing.assert_allclose(scores[0, 1], 1 / 16, atol=1e-6)  # a flat map: every cell as likely
    np.testing.assert_array_equal(points[0, 2], 0.0)  # a padding row (zero box) gives zeros
    np.testing.assert_array_equal(scores[0, 2], 0.0)
    check_layer(KeypointDecoder, {}, [heatmaps, boxes], expected_output_shapes=[(1, 3, 2), (1, 3, 2, 2)], fit=False)


def _mask_inputs():
    gt_masks = np.zeros((2, 2, 16, 16), np.uint8)
    gt_masks[0, 1, 4:12, 4:12] = 1
    rois = np.array([[[0.25, 0.25, 0.75, 0.75], [0.0, 0.0, 0.5, 0.5]], [[0.1, 0.1, 0.9, 0.9], [0, 0, 0, 0]]],
                    np.float32)
    labels = np.array([[2, -1], [-1, -2]], np.int32)  # image 1 has no positive
    matches = np.array([[1, -1], [-1, -1]], np.int32)
    return rois, labels, matches, gt_masks


def test_mask_loss_reads_only_the_ground_truth_class_and_is_zero_without_positives():
    rois, labels, matches, gt_masks = _mask_inputs()
    logits = tf.Variable(np.zeros((2, 2, 4, 4, 3), np.float32))
    with tf.GradientTape() as tape:
        loss = RoIMaskLosses()([logits, rois, labels, matches, gt_masks])
    # Zero logits: log 2 per pixel, averaged over the one positive's pixels; image 1 has nothing to learn.
    np.testing.assert_allclose(loss.numpy(), [math.log(2.0), 0.0], atol=1e-6)
    grad = tape.gradient(loss, logits).numpy()
    assert np.any(grad[0, 0, ..., 2] != 0)
    np.testing.assert_array_equal(grad[0, 0, ..., :2], 0.0)  # the other classes' masks get no gradient
    np.testing.assert_array_equal(grad[0, 1], 0.0)  # nor does the background RoI
    np.testing.assert_array_equal(grad[1], 0.0)
    # The RoI sits exactly on the mask: a confident, right mask in channel 2 gives a loss near 0,
    # whatever the other channels say.
    confident = np.full((2, 2, 4, 4, 3), -30.0, np.float32)
    confident[0, 0, ..., 2] = 30.0
    loss = RoIMaskLosses()([confident, rois, labels, matches, gt_masks]).numpy()
    assert loss[0] < 1e-6


def test_keypoint_loss_is_the_cross_entropy_over_cells_of_visible_joints():
    rois = np.array([[[0.0, 0.0, 1.0, 1.0]], [[0.0, 0.0, 1.0, 1.0]]], np.float32)
    labels = np.array([[0], [0]], np.int32)
    matches = np.array([[0], [0]], np.int32)
    keypoints = np.array([[[[0.3, 0.3, 1.0], [0.6, 0.6, 0.0]]], [[[0.3, 0.3, 0.0], [0.6, 0.6, 0.0]]]], np.float32)
    heatmaps = np.zeros((2, 1, 4, 4, 2), np.float32)
    loss = RoIKeypointLosses()([heatmaps, rois, labels, matches, keypoints]).numpy()
    # Flat maps: log 16 for the one visible joint; image 1 has no visible joint.
    np.testing.assert_allclose(loss, [math.log(16.0), 0.0], atol=1e-6)
    heatmaps[0, 0, 1, 1, 0] = 20.0  # (0.3, 0.3) lies in cell (1, 1) of a 4 x 4 grid over the image
    loss = RoIKeypointLosses()([heatmaps, rois, labels, matches, keypoints]).numpy()
    assert loss[0] < 1e-6


def test_ps_roi_head_vote_over_constant_maps_by_hand():
    # k = 2 bins per side, C + 1 = 2 score maps per bin, position-major channels: bin (i, j), class d
    # reads channel (2 i + j) * 2 + d. Maps that are constant and equal to their channel index give
    # bin values d + 2 (2 i + j), whose average over the four bins is d + 3: a vote of (3, 4).
    head = PSRoIHead(num_classes=1, output_size=2, channels=0)
    features = np.ones((1, 8, 8, 3), np.float32)
    rois = np.array([[[0.1, 0.2, 0.7, 0.9], [0.0, 0.0, 1.0, 1.0]]], np.float32)
    head([features, rois])
    head.class_maps.set_weights([np.zeros((1, 1, 3, 8), np.float32), np.arange(8, dtype=np.float32)])
    head.box_maps.set_weights([np.zeros((1, 1, 3, 16), np.float32), np.arange(16, dtype=np.float32)])
    logits, deltas = head([features, rois])
    np.testing.assert_allclose(logits.numpy(), [[[3.0, 4.0], [3.0, 4.0]]], atol=1e-5)
    # Box maps: 4 per bin, so delta t votes t + 4 * 1.5.
    np.testing.assert_allclose(deltas.numpy()[0, :, 0], [[6.0, 7.0, 8.0, 9.0]] * 2, atol=1e-5)


def test_ps_roi_head_standard_checks():
    features = RNG.normal(size=(2, 8, 8, 6)).astype(np.float32)
    rois = np.sort(RNG.uniform(0, 1, (2, 3, 2, 2)), axis=2).reshape(2, 3, 4).astype(np.float32)
    check_layer(PSRoIHead, {"num_classes": 2, "output_size": 3, "channels": 8}, [features, rois],
                expected_output_shapes=[(2, 3, 3), (2, 3, 1, 4)])
