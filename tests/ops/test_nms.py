"""Multi-class NMS against tf.image.non_max_suppression per image and class."""

import numpy as np
import pytest
import tensorflow as tf

from kzoo.ops import boxes as box_ops
from kzoo.ops import nms
from tests.helpers import run_tflite, to_tflite


def random_inputs(seed, batch, anchors, classes):
    rng = np.random.default_rng(seed)
    centre = rng.uniform(0.0, 1.0, (batch, anchors, 2))
    size = rng.uniform(0.05, 0.4, (batch, anchors, 2))
    boxes = np.concatenate([centre - size / 2, centre + size / 2], -1).astype(np.float32)
    return boxes, rng.uniform(0.0, 1.0, (batch, anchors, classes)).astype(np.float32)


def np_greedy_nms(boxes, scores, iou_threshold, score_threshold, max_output):
    """Textbook greedy NMS: take the best box, drop boxes overlapping it, repeat."""
    order = [i for i in np.argsort(-scores, kind="stable") if scores[i] > score_threshold]
    keep = []
    while order and len(keep) < max_output:
        best, order = order[0], order[1:]
        keep.append(best)
        b = boxes[best]
        rest = boxes[order]
        h = np.clip(np.minimum(b[2], rest[:, 2]) - np.maximum(b[0], rest[:, 0]), 0, None)
        w = np.clip(np.minimum(b[3], rest[:, 3]) - np.maximum(b[1], rest[:, 1]), 0, None)
        inter = h * w
        union = (b[2] - b[0]) * (b[3] - b[1]) + (rest[:, 2] - rest[:, 0]) * (rest[:, 3] - rest[:, 1]) - inter
        order = [i for i, iou in zip(order, inter / union, strict=True) if iou <= iou_threshold]
    return np.array(keep, np.int64)


def reference(boxes, scores, max_det, iou, thr, top_k, agnostic):
    """Candidates picked in NumPy, suppression by tf.image.non_max_suppression per image and class."""
    batch, _, num_classes = scores.shape
    out = {
        "detection_boxes": np.zeros((batch, max_det, 4), np.float32),
        "detection_scores": np.zeros((batch, max_det), np.float32),
        "detection_classes": np.zeros((batch, max_det), np.int32),
        "num_detections": np.zeros((batch,), np.int32),
    }
    for n in range(batch):
        if agnostic:
            best = scores[n].max(-1)
            anchor = np.argsort(-best, kind="stable")[:top_k]
            cand_scores, cand_classes = best[anchor], scores[n].argmax(-1)[anchor]
            groups = [np.arange(anchor.size)]
        else:
            flat = scores[n].reshape(-1)
            pair = np.argsort(-flat, kind="stable")[:top_k]
            anchor, cand_classes, cand_scores = pair // num_classes, pair % num_classes, flat[pair]
            groups = [np.flatnonzero(cand_classes == c) for c in range(num_classes)]
        kept = []
        for group in groups:
            keep = tf.image.non_max_suppression(boxes[n][anchor[group]], cand_scores[group], max_det, iou, thr).numpy()
            kept.extend(group[keep])
        kept = sorted(kept, key=lambda i: -cand_scores[i])[:max_det]
        k = len(kept)
        out["num_detections"][n] = k
        out["detection_boxes"][n, :k] = boxes[n][anchor[kept]]
        out["detection_scores"][n, :k] = cand_scores[kept]
        out["detection_classes"][n, :k] = cand_classes[kept]
    return out


def assert_same(got, want):
    assert sorted(got) == sorted(want)
    for key in want:
        got_value = np.asarray(got[key])
        assert got_value.dtype == want[key].dtype, key
        np.testing.assert_array_equal(got_value, want[key], err_msg=key)


def test_numpy_greedy_agrees_with_tf():
    boxes, scores = random_inputs(0, 1, 400, 1)
    keep = tf.image.non_max_suppression(boxes[0], scores[0, :, 0], 50, 0.5, 0.2).numpy()
    np.testing.assert_array_equal(keep, np_greedy_nms(boxes[0], scores[0, :, 0], 0.5, 0.2, 50))


@pytest.mark.parametrize("top_k", [150, 5000])
@pytest.mark.parametrize("agnostic", [False, True])
def test_matches_tf_per_image_and_class(top_k, agnostic):
    boxes, scores = random_inputs(1, 3, 400, 4)
    got = nms.multiclass_nms(boxes, scores, 30, 0.5, 0.3, top_k, agnostic)
    want = reference(boxes, scores, 30, 0.5, 0.3, top_k, agnostic)
    assert_same(got, want)
    assert 0 < want["num_detections"].min()


def test_fewer_survivors_than_slots_are_zero_padded():
    boxes, scores = random_inputs(2, 2, 60, 3)
    got = nms.multiclass_nms(boxes, scores, 100, 0.3, 0.9, 1000)
    want = reference(boxes, scores, 100, 0.3, 0.9, 1000, False)
    assert_same(got, want)
    assert want["num_detections"].max() < 100


def test_all_scores_below_threshold_gives_no_detections():
    boxes, scores = random_inputs(3, 2, 50, 3)
    got = nms.multiclass_nms(boxes, scores * 0.5, 10, 0.5, 0.5, 100)
    np.testing.assert_array_equal(got["num_detections"].numpy(), [0, 0])
    for key in ("detection_boxes", "detection_scores", "detection_classes"):
        assert not np.any(got[key].numpy()), key
    empty = nms.multiclass_nms(np.zeros((2, 0, 4), np.float32), np.zeros((2, 0, 3), np.float32), 10)
    np.testing.assert_array_equal(empty["num_detections"].numpy(), [0, 0])
    assert empty["detection_boxes"].shape == (2, 10, 4)


def test_batch_one_and_dynamic_batch_agree_with_reference():
    boxes, scores = random_inputs(4, 3, 200, 5)
    want = reference(boxes, scores, 20, 0.6, 0.2, 300, False)
    fn = tf.function(
        lambda b, s: nms.multiclass_nms(b, s, 20, 0.6, 0.2, 300),
        input_signature=[tf.TensorSpec((None, None, 4)), tf.TensorSpec((None, None, 5))],
    )
    assert_same(fn(boxes, scores), want)
    single = nms.multiclass_nms(boxes[1:2], scores[1:2], 20, 0.6, 0.2, 300)
    assert_same(single, {k: v[1:2] for k, v in want.items()})


def test_class_offset_separates_classes_and_keeps_iou():
    boxes, _ = random_inputs(5, 1, 300, 1)
    boxes[0, :, :2] -= 0.3  # extend past the unit square: offsets must follow the data
    classes = np.random.default_rng(5).integers(0, 13, (1, 300)).astype(np.int32)
    shifted = nms.class_offset_boxes(boxes, classes, 13)
    iou_before = box_ops.pairwise_iou(boxes[0], boxes[0]).numpy()
    iou_after = box_ops.pairwise_iou(shifted[0], shifted[0]).numpy()
    same_class = classes[0][:, None] == classes[0][None, :]
    assert not np.any(iou_after[~same_class])
    np.testing.assert_allclose(iou_after[same_class], iou_before[same_class], atol=1e-5)


def test_tflite_builtins_match_tf_at_batch_one():
    boxes, scores = random_inputs(6, 1, 300, 4)
    fn = lambda b, s: nms.multiclass_nms(b, s, 25, 0.5, 0.25, 200)  # noqa: E731
    lite = run_tflite(to_tflite(fn, [boxes, scores]), [boxes, scores])
    want = reference(boxes, scores, 25, 0.5, 0.25, 200, False)
    for got, key in zip(lite, sorted(want), strict=True):
        np.testing.assert_array_equal(got, want[key], err_msg=key)
