"""Region proposals against a NumPy reference (top-k, decode, clip, size filter, greedy NMS, top-k)."""

import numpy as np
import pytest

from kzoo.ops import proposals as proposal_ops


def _decode(deltas, anchors):
    ha, wa = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    cy, cx = anchors[:, 0] + 0.5 * ha, anchors[:, 1] + 0.5 * wa
    dh = np.minimum(deltas[:, 2], np.log(1000.0 / 16.0))
    dw = np.minimum(deltas[:, 3], np.log(1000.0 / 16.0))
    y, x = deltas[:, 0] * ha + cy, deltas[:, 1] * wa + cx
    h, w = np.exp(dh) * ha, np.exp(dw) * wa
    return np.stack([y - h / 2, x - w / 2, y + h / 2, x + w / 2], axis=1)


def _iou(box, boxes):
    inter_h = np.maximum(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0)
    inter_w = np.maximum(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0)
    inter = inter_h * inter_w
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / (area(box) + area(boxes) - inter)


def reference(objectness, deltas, anchors, pre, post, iou_threshold, min_size):
    order = np.argsort(-objectness)[:pre]
    boxes = np.clip(_decode(deltas[order], anchors[order]), 0.0, 1.0)
    scores = 1.0 / (1.0 + np.exp(-objectness[order]))
    keep = ((boxes[:, 2] - boxes[:, 0]) > min_size) & ((boxes[:, 3] - boxes[:, 1]) > min_size)
    boxes, scores = boxes[keep], scores[keep]
    chosen = []
    alive = np.ones(len(boxes), bool)
    for i in range(len(boxes)):
        if not alive[i]:
            continue
        chosen.append(i)
        if len(chosen) == post:
            break
        alive[i + 1:] &= _iou(boxes[i], boxes[i + 1:]) <= iou_threshold
    out_boxes, out_scores = np.zeros((post, 4), np.float32), np.zeros(post, np.float32)
    out_boxes[: len(chosen)], out_scores[: len(chosen)] = boxes[chosen], scores[chosen]
    return out_boxes, out_scores


@pytest.mark.parametrize("pre, post, min_size", [(300, 50, 0.0), (100, 80, 0.05), (40, 60, 0.0)])
def test_proposals_match_a_numpy_reference(pre, post, min_size):
    rng = np.random.default_rng(pre + post)
    n, a = 2, 400
    centers = rng.uniform(0.1, 0.9, (n * a, 2))
    sizes = rng.uniform(0.05, 0.4, (n * a, 2))
    anchors = np.concatenate([centers - sizes / 2, centers + sizes / 2], axis=1).astype(np.float32)
    anchors = anchors.reshape(n, a, 4)
    objectness = rng.normal(0, 2, (n, a)).astype(np.float32)
    deltas = rng.normal(0, 0.3, (n, a, 4)).astype(np.float32)
    boxes, scores = proposal_ops.generate_proposals(objectness, deltas, anchors, pre, post, 0.6, min_size)
    for i in range(n):
        want_boxes, want_scores = reference(objectness[i], deltas[i], anchors[i], pre, post, 0.6, min_size)
        np.testing.assert_allclose(boxes.numpy()[i], want_boxes, atol=1e-5)
        np.testing.assert_allclose(scores.numpy()[i], want_scores, atol=1e-6)
        # Padding rows (fewer survivors than post) are exactly the zero boxes proposal_mask rejects.
        np.testing.assert_array_equal(proposal_ops.proposal_mask(boxes).numpy()[i], want_scores > 0)
