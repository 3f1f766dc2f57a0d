"""RPN targets and RoI sampling against the ground truth they come from."""

import numpy as np
import tensorflow as tf

from kzoo.ops import anchors as anchor_ops
from kzoo.ops import box_coding
from kzoo.ops import boxes as box_ops
from kzoo.ops import region_targets

GT = np.array(
    [[[0.10, 0.10, 0.40, 0.35], [0.50, 0.55, 0.90, 0.95], [0.05, 0.60, 0.30, 0.90], [0.0, 0.0, 0.0, 0.0]]],
    np.float32,
)
CLASSES = np.array([[2, 0, 4, -1]], np.int32)


def _anchors():
    return anchor_ops.pyramid_anchors(128, 128, (8, 16), (16, 32), (1.0, 2.0), (0.5, 1.0, 2.0))


def test_rpn_targets_decode_back_to_the_groundtruth():
    anchors = _anchors()
    labels, targets = region_targets.rpn_targets(anchors, GT, CLASSES, num_samples=256, seed=3)
    labels, targets = labels.numpy()[0], targets.numpy()[0]
    positive = labels >= 0
    assert positive.sum() > 0
    decoded = box_coding.decode_boxes(targets[positive], tf.gather(anchors, np.flatnonzero(positive))).numpy()
    iou = box_ops.pairwise_iou(decoded, GT[0, :3]).numpy()
    # Every positive's target decodes exactly to one real box, of the class it is labelled with.
    np.testing.assert_allclose(iou.max(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(CLASSES[0, iou.argmax(axis=1)], labels[positive])
    # The sample: at most 256 anchors, at most half positive; the rest left out (-2) with zero targets.
    assert (labels >= -1).sum() <= 256 and positive.sum() <= 128
    assert np.all(targets[~positive] == 0.0)


def test_rpn_targets_of_an_image_without_objects_are_all_negative():
    labels, targets = region_targets.rpn_targets(
        _anchors(), np.zeros((1, 3, 4), np.float32), -np.ones((1, 3), np.int32), num_samples=64, seed=0
    )
    labels = labels.numpy()
    assert (labels == -1).sum() == 64 and (labels >= 0).sum() == 0
    assert np.all(targets.numpy() == 0.0)


def test_sampled_rois_keep_the_foreground_fraction_and_decode_to_their_boxes():
    rng = np.random.default_rng(0)
    # Many proposals near the objects (jittered copies) and many far away.
    near = np.repeat(GT[0, :3], 40, axis=0) + rng.normal(0, 0.01, (120, 4)).astype(np.float32)
    # Sorting each (corner, axis) pair puts the minima first: rows of [ymin, xmin, ymax, xmax].
    far = np.sort(rng.uniform(0.0, 1.0, (200, 2, 2)), axis=1).reshape(200, 4)
    proposals = np.clip(np.concatenate([near, far.astype(np.float32)]), 0.0, 1.0)[None]
    out = region_targets.sample_rois(proposals, GT, CLASSES, num_samples=64, positive_fraction=0.25, seed=1)
    labels, rois = out["labels"].numpy()[0], out["rois"].numpy()[0]
    positive = labels >= 0
    assert positive.sum() == 16 and (labels == -1).sum() == 48
    decoded = box_coding.decode_boxes(out["box_targets"].numpy()[0][positive], rois[positive], (10, 10, 5, 5))
    matched = GT[0][out["matches"].numpy()[0][positive]]
    np.testing.assert_allclose(decoded.numpy(), matched, atol=1e-5)
    np.testing.assert_array_equal(labels[positive], CLASSES[0][out["matches"].numpy()[0][positive]])
    iou = box_ops.pairwise_iou(rois, GT[0, :3]).numpy().max(axis=1)
    assert np.all(iou[positive] >= 0.5) and np.all(iou[labels == -1] < 0.5)


def test_padding_never_matches_and_is_never_sampled():
    # A padded ground-truth row (class -1) sits exactly on some proposals, and zero rows pad the proposals.
    gt = np.array([[[0.1, 0.1, 0.4, 0.4], [0.6, 0.6, 0.9, 0.9]]], np.float32)
    classes = np.array([[1, -1]], np.int32)
    proposals = np.array([[[0.6, 0.6, 0.9, 0.9]] * 5 + [[0.1, 0.1, 0.4, 0.41]] * 2 + [[0, 0, 0, 0]] * 9], np.float32)
    out = region_targets.sample_rois(proposals, gt, classes, num_samples=16, positive_fraction=0.5, seed=0)
    labels, rois = out["labels"].numpy()[0], out["rois"].numpy()[0]
    on_padding = np.all(np.isclose(rois, [0.6, 0.6, 0.9, 0.9]), axis=1)
    assert on_padding.sum() == 5 and np.all(labels[on_padding] == -1)
    # 2 proposals and the appended real box are positives; zero proposals and padded gt fill no slot.
    assert (labels == 1).sum() == 3
    assert (labels == -2).sum() == 16 - 8
    assert np.all(rois[labels == -2] == 0.0)
    rpn_labels, _ = region_targets.rpn_targets(proposals[0, :7], gt, classes, num_samples=16, seed=0)
    assert np.all(rpn_labels.numpy()[0, :5] < 0)


def test_degenerate_groundtruth_gives_finite_targets():
    gt = np.array([[[0.3, 0.3, 0.3, 0.6], [0.5, 0.5, 0.8, 0.8]]], np.float32)  # the first has no height
    classes = np.array([[0, 1]], np.int32)
    proposals = np.array([[[0.3, 0.3, 0.31, 0.6], [0.5, 0.5, 0.8, 0.8], [0.0, 0.0, 1.0, 1.0]]], np.float32)
    out = region_targets.sample_rois(proposals, gt, classes, num_samples=8, seed=0)
    for value in out.values():
        assert np.all(np.isfinite(value.numpy()))
    labels, targets = region_targets.rpn_targets(_anchors(), gt, classes, num_samples=32, seed=0)
    assert np.all(np.isfinite(targets.numpy()))
