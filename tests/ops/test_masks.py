"""Pasting box-relative masks into the image: the graph op (kzoo.ops.mask_pasting), its host form (kzoo.ops.masks)."""

import numpy as np
import pytest
import tensorflow as tf

from kzoo.ops import mask_pasting
from kzoo.ops.masks import paste_masks
from tests.helpers import run_tflite, to_tflite


def reference_paste(mask, box, height, width, threshold=0.5):
    """Pixel by pixel: bilinear sample of the small mask at each pixel center inside the box."""
    h, w = mask.shape
    y0, x0, y1, x1 = box[0] * height, box[1] * width, box[2] * height, box[3] * width
    out = np.zeros((height, width), np.uint8)
    for i in range(height):
        for j in range(width):
            cy, cx = i + 0.5, j + 0.5
            if not (y0 <= cy < y1 and x0 <= cx < x1):
                continue
            u = min(max((cy - y0) / (y1 - y0) * h - 0.5, 0), h - 1)
            v = min(max((cx - x0) / (x1 - x0) * w - 0.5, 0), w - 1)
            a, b = int(np.floor(u)), int(np.floor(v))
            a1, b1 = min(a + 1, h - 1), min(b + 1, w - 1)
            fu, fv = u - a, v - b
            value = ((1 - fu) * (1 - fv) * mask[a, b] + (1 - fu) * fv * mask[a, b1]
                     + fu * (1 - fv) * mask[a1, b] + fu * fv * mask[a1, b1])
            out[i, j] = value >= threshold
    return out


def test_full_mask_fills_its_box():
    out = paste_masks(np.ones((1, 28, 28)), [[0.25, 0.25, 0.75, 0.75]], 8, 8)
    expected = np.zeros((8, 8), np.uint8)
    expected[2:6, 2:6] = 1
    np.testing.assert_array_equal(out[0], expected)


def test_matches_pixel_reference():
    rng = np.random.default_rng(0)
    masks = rng.random((5, 7, 9)).astype(np.float32)
    # Inside, whole image, tiny, partly outside the image, empty.
    boxes = np.array([[0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], [0.5, 0.5, 0.55, 0.6], [-0.2, 0.3, 0.4, 1.3],
                      [0.3, 0.3, 0.3, 0.3]])
    out = paste_masks(masks, boxes, 23, 31, chunk=2)
    for k in range(5):
        np.testing.assert_array_equal(out[k], reference_paste(masks[k], boxes[k], 23, 31))
    assert out[0].sum() > 0 and out[4].sum() == 0  # an empty box pastes nothing
    with pytest.raises(ValueError):
        paste_masks(masks, boxes[:3], 8, 8)


def test_graph_op_pastes_a_batch_like_the_reference_and_converts_to_builtin_tflite():
    rng = np.random.default_rng(1)
    masks = rng.random((2, 3, 6, 5)).astype(np.float32)
    # Boxes touching each border, the whole image, a sliver, and padding (a zero box).
    boxes = np.array(
        [
            [[0.0, 0.0, 0.5, 0.4], [0.6, 0.7, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]],
            [[0.2, 0.0, 0.9, 1.0], [0.45, 0.3, 0.5, 0.9], [0.0, 0.0, 0.0, 0.0]],
        ],
        np.float32,
    )
    got = mask_pasting.paste_masks(masks, boxes, 19, 17).numpy()
    assert got.shape == (2, 3, 19, 17) and got.dtype == np.uint8
    for n in range(2):
        for k in range(3):
            np.testing.assert_array_equal(got[n, k], reference_paste(masks[n, k], boxes[n, k], 19, 17))
    assert got[0, 1, -1, -1] == reference_paste(masks[0, 1], boxes[0, 1], 19, 17)[-1, -1]
    assert got[1, 2].sum() == 0

    # Inputs named so that the runner feeds them in order (it sorts by the trailing number).
    flatbuffer = to_tflite(lambda x_0, x_1: mask_pasting.paste_masks(x_0, x_1, 19, 17), [masks, boxes])
    lite = run_tflite(flatbuffer, [masks, boxes])
    np.testing.assert_array_equal(lite[0], got)


def test_graph_op_takes_the_size_as_tensors():
    masks = np.ones((1, 1, 4, 4), np.float32)
    boxes = np.array([[[0.25, 0.25, 0.75, 0.75]]], np.float32)
    paste = tf.function(lambda h, w: mask_pasting.paste_masks(masks, boxes, h, w))
    assert paste(tf.constant(8), tf.constant(12)).numpy().sum() == 4 * 6
    probabilities = mask_pasting.paste_masks(masks * 0.7, boxes, 8, 8, threshold=None).numpy()
    np.testing.assert_allclose(probabilities[0, 0, 2:6, 2:6], 0.7, atol=1e-6)
