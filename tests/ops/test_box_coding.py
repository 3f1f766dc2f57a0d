"""Box coding against a NumPy reference, round trips and the log-scale clip."""

import math

import numpy as np
import pytest

from kzoo.ops import box_coding


def random_boxes(rng, n):
    centre = rng.uniform(0.1, 0.9, (n, 2))
    size = rng.uniform(0.02, 0.6, (n, 2))
    return np.concatenate([centre - size / 2, centre + size / 2], -1).astype(np.float32)


def reference_encode(boxes, anchors, weights):
    cy, cx = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    h, w = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    acy, acx = (anchors[:, 0] + anchors[:, 2]) / 2, (anchors[:, 1] + anchors[:, 3]) / 2
    ah, aw = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    wy, wx, wh, ww = weights
    return np.stack([wy * (cy - acy) / ah, wx * (cx - acx) / aw, wh * np.log(h / ah), ww * np.log(w / aw)], -1)


@pytest.mark.parametrize("weights", [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)])
def test_encode_matches_reference_and_round_trips(weights):
    rng = np.random.default_rng(0)
    boxes, anchors = random_boxes(rng, 200), random_boxes(rng, 200)
    deltas = box_coding.encode_boxes(boxes, anchors, weights).numpy()
    np.testing.assert_allclose(
        deltas, reference_encode(boxes.astype(np.float64), anchors.astype(np.float64), weights), rtol=1e-4, atol=1e-4
    )
    decoded = box_coding.decode_boxes(deltas, anchors, weights).numpy()
    np.testing.assert_allclose(decoded, boxes, atol=1e-5)


def test_hand_computed_deltas():
    anchors = np.array([[0.0, 0.0, 1.0, 1.0]], np.float32)
    boxes = np.array([[0.25, 0.5, 0.75, 1.0]], np.float32)
    # Centre moves by (0, 0.25) of the anchor; both sides halve.
    np.testing.assert_allclose(
        box_coding.encode_boxes(boxes, anchors).numpy(), [[0.0, 0.25, math.log(0.5), math.log(0.5)]], atol=1e-6
    )


def test_broadcast_anchors_over_batch():
    rng = np.random.default_rng(1)
    anchors = random_boxes(rng, 10)
    deltas = rng.normal(size=(3, 10, 4)).astype(np.float32)
    got = box_coding.decode_boxes(deltas, anchors).numpy()
    for n in range(3):
        np.testing.assert_allclose(got[n], box_coding.decode_boxes(deltas[n], anchors).numpy(), atol=1e-6)


def test_huge_log_scale_deltas_are_clipped():
    anchors = np.array([[0.4, 0.4, 0.5, 0.6]], np.float32)
    deltas = np.array([[0.0, 0.0, 100.0, 1e6]], np.float32)
    boxes = box_coding.decode_boxes(deltas, anchors).numpy()
    assert np.all(np.isfinite(boxes))
    # Both sizes stop at 1000 / 16 = 62.5 times the anchor's.
    np.testing.assert_allclose(boxes[0, 2] - boxes[0, 0], 62.5 * 0.1, rtol=1e-5)
    np.testing.assert_allclose(boxes[0, 3] - boxes[0, 1], 62.5 * 0.2, rtol=1e-5)
    unclipped = box_coding.decode_boxes(deltas, anchors, scale_clip=None).numpy()
    assert not np.all(np.isfinite(unclipped))


def test_degenerate_boxes_encode_finite():
    anchors = np.array([[0.1, 0.1, 0.3, 0.3], [0.1, 0.1, 0.3, 0.3]], np.float32)
    boxes = np.array([[0.0, 0.0, 0.0, 0.0], [0.2, 0.2, 0.2, 0.5]], np.float32)
    assert np.all(np.isfinite(box_coding.encode_boxes(boxes, anchors).numpy()))


def test_bad_weights_rejected():
    with pytest.raises(ValueError):
        box_coding.encode_boxes(np.zeros((1, 4), np.float32), np.zeros((1, 4), np.float32), (1.0, 1.0))
