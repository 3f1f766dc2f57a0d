"""IoU matcher against a NumPy reference (torchvision's rules), and hand cases."""

import numpy as np
import pytest
import tensorflow as tf

from kzoo.ops import matching


def random_boxes(rng, shape, low=0.02, high=0.5):
    centre = rng.uniform(0.0, 1.0, shape + (2,))
    size = rng.uniform(low, high, shape + (2,))
    return np.concatenate([centre - size / 2, centre + size / 2], -1).astype(np.float32)


def np_iou(a, b):
    a, b = a.astype(np.float64), b.astype(np.float64)
    h = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    w = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = h * w
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def reference_match(anchors, gt_boxes, gt_classes, fg, bg, low_quality):
    out = np.full((gt_boxes.shape[0], anchors.shape[0]), -1, np.int64)
    for n in range(gt_boxes.shape[0]):
        valid = np.flatnonzero(gt_classes[n] >= 0)
        if valid.size == 0:
            continue
        iou = np_iou(anchors, gt_boxes[n][valid])
        best, arg = iou.max(1), valid[iou.argmax(1)]
        match = np.where(best >= fg, arg, np.where(best < bg, -1, -2))
        if low_quality:
            for g in range(valid.size):
                top = iou[:, g].max()
                if top > 0:
                    rescued = np.flatnonzero(iou[:, g] == top)
                    match[rescued] = arg[rescued]
        out[n] = match
    return out


def padded_ground_truth(rng, batch, max_boxes, counts):
    boxes = random_boxes(rng, (batch, max_boxes), 0.05, 0.4)
    classes = np.full((batch, max_boxes), -1, np.int32)
    for n, count in enumerate(counts):
        # Padding sits between real boxes too, so its position cannot matter.
        slots = rng.choice(max_boxes, count, replace=False)
        classes[n, slots] = rng.integers(0, 5, count)
    return boxes, classes


@pytest.mark.parametrize("low_quality", [False, True])
def test_matches_reference(low_quality):
    rng = np.random.default_rng(0)
    anchors = random_boxes(rng, (300,), 0.05, 0.4)
    gt_boxes, gt_classes = padded_ground_truth(rng, 3, 8, [5, 0, 8])
    got = matching.match_boxes(anchors, gt_boxes, gt_classes, 0.5, 0.4, low_quality).numpy()
    want = reference_match(anchors, gt_boxes, gt_classes, 0.5, 0.4, low_quality)
    np.testing.assert_array_equal(got, want)
    assert set(np.unique(got)) >= {-2, -1}
    assert np.all(got[1] == -1)  # the image with only padding is all background
    assert not np.isin(np.flatnonzero(gt_classes[0] < 0), got[0]).any()


def test_low_quality_matches_rescue_small_boxes():
    rng = np.random.default_rng(1)
    anchors = random_boxes(rng, (200,), 0.3, 0.6)
    gt_boxes, gt_classes = padded_ground_truth(rng, 2, 6, [6, 3])
    gt_boxes = np.concatenate([gt_boxes[..., :2], gt_boxes[..., :2] + 0.03], -1)  # tiny boxes: best IoU < 0.7
    plain = matching.match_boxes(anchors, gt_boxes, gt_classes, 0.7, 0.3, False).numpy()
    rescued = matching.match_boxes(anchors, gt_boxes, gt_classes, 0.7, 0.3, True).numpy()
    assert np.all(plain < 0)
    np.testing.assert_array_equal(rescued, reference_match(anchors, gt_boxes, gt_classes, 0.7, 0.3, True))
    assert (rescued >= 0).sum() >= 6  # every real box claimed at least one anchor


def test_hand_computed_thresholds_and_ties():
    anchors = np.array(
        [[0, 0, 1, 0.5], [0, 0, 1, 0.4], [0, 0, 1, 0.39], [0.5, 0.5, 0.6, 0.6], [0.5, 0.5, 0.6, 0.6]], np.float32
    )
    gt = np.array([[[0, 0, 1, 1], [0.5, 0.5, 0.8, 0.8], [0, 0, 1, 1]]], np.float32)
    classes = np.array([[3, 0, -1]], np.int32)
    # IoUs with box 0: 0.5 (matched at the threshold), 0.4 (ignored), 0.39 (background);
    # anchors 3 and 4 are identical and overlap box 1 with IoU 1/9.
    got = matching.match_boxes(anchors, gt, classes, 0.5, 0.4).numpy()
    np.testing.assert_array_equal(got, [[0, -2, -1, -1, -1]])
    got = matching.match_boxes(anchors, gt, classes, 0.5, 0.4, allow_low_quality_matches=True).numpy()
    np.testing.assert_array_equal(got, [[0, -2, -1, 1, 1]])


def test_no_ground_truth_at_all():
    anchors = np.array([[0, 0, 1, 1], [0, 0, 0.5, 0.5]], np.float32)
    for low_quality in (False, True):
        got = matching.match_boxes(
            anchors, np.zeros((2, 0, 4), np.float32), np.zeros((2, 0), np.int32), allow_low_quality_matches=low_quality
        )
        np.testing.assert_array_equal(got.numpy(), -np.ones((2, 2)))
        padded = matching.match_boxes(
            anchors,
            np.ones((2, 3, 4), np.float32) * 0.5,
            -np.ones((2, 3), np.int32),
            allow_low_quality_matches=low_quality,
        )
        np.testing.assert_array_equal(padded.numpy(), -np.ones((2, 2)))


def test_batched_anchors_and_graph_mode():
    rng = np.random.default_rng(2)
    anchors = random_boxes(rng, (2, 50))
    gt_boxes, gt_classes = padded_ground_truth(rng, 2, 4, [4, 2])
    fn = tf.function(
        lambda a, b, c: matching.match_boxes(a, b, c, 0.5, 0.4, True),
        input_signature=[
            tf.TensorSpec((None, None, 4)),
            tf.TensorSpec((None, None, 4)),
            tf.TensorSpec((None, None), tf.int32),
        ],
    )
    got = fn(anchors, gt_boxes, gt_classes).numpy()
    for n in range(2):
        np.testing.assert_array_equal(
            got[n], reference_match(anchors[n], gt_boxes[n : n + 1], gt_classes[n : n + 1], 0.5, 0.4, True)[0]
        )


def test_gather_matched():
    classes = np.array([[4, 7, -1]], np.int32)
    boxes = np.arange(12, dtype=np.float32).reshape(1, 3, 4)
    matches = np.array([[1, -1, 0, -2]], np.int32)
    np.testing.assert_array_equal(
        matching.gather_matched(classes, matches, background_value=-1, ignore_value=-2).numpy(), [[7, -1, 4, -2]]
    )
    got = matching.gather_matched(boxes, matches).numpy()
    np.testing.assert_array_equal(got, [[boxes[0, 1], np.zeros(4), boxes[0, 0], np.zeros(4)]])
    empty = matching.gather_matched(np.zeros((1, 0), np.int32), np.array([[-1, -2]], np.int32), -1)
    np.testing.assert_array_equal(empty.numpy(), [[-1, -1]])


def test_thresholds_validated():
    with pytest.raises(ValueError):
        matching.match_boxes(
            np.zeros((1, 4), np.float32), np.zeros((1, 1, 4), np.float32), np.zeros((1, 1), np.int32), 0.3, 0.5
        )
