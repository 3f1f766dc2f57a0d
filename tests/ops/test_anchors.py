"""Anchors against a loop-by-loop NumPy reference and hand-computed boxes."""

import math

import numpy as np
import pytest
import tensorflow as tf

from kzoo.ops import anchors as anchor_ops


def reference_pyramid_anchors(height, width, strides, sizes, scales, ratios, offset=0.5):
    out = []
    for stride, size in zip(strides, sizes, strict=True):
        for i in range(math.ceil(height / stride)):
            for j in range(math.ceil(width / stride)):
                cy, cx = (i + offset) * stride, (j + offset) * stride
                for scale in scales:
                    for ratio in ratios:
                        h = size * scale / math.sqrt(ratio)
                        w = size * scale * math.sqrt(ratio)
                        out.append(
                            [(cy - h / 2) / height, (cx - w / 2) / width, (cy + h / 2) / height, (cx + w / 2) / width]
                        )
    return np.array(out, np.float32)


RETINA = dict(
    strides=(8, 16, 32), sizes=(32, 64, 128), scales=(1.0, 2 ** (1 / 3), 2 ** (2 / 3)), aspect_ratios=(0.5, 1.0, 2.0)
)


@pytest.mark.parametrize("height,width", [(64, 64), (100, 72)])
def test_pyramid_anchors_match_reference(height, width):
    got = anchor_ops.pyramid_anchors(height, width, **RETINA).numpy()
    want = reference_pyramid_anchors(
        height, width, RETINA["strides"], RETINA["sizes"], RETINA["scales"], RETINA["aspect_ratios"]
    )
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_dynamic_image_size_gives_same_anchors():
    fn = tf.function(lambda h, w: anchor_ops.pyramid_anchors(h, w, **RETINA))
    got = fn(tf.constant(100), tf.constant(72)).numpy()
    np.testing.assert_allclose(got, anchor_ops.pyramid_anchors(100, 72, **RETINA).numpy(), atol=1e-6)


def test_hand_computed_anchor():
    # 32 x 64 image, stride 16, size 32, ratio 2 (wide): first cell centre (8, 8) px,
    # h = 32 / sqrt(2), w = 32 * sqrt(2).
    got = anchor_ops.pyramid_anchors(32, 64, (16,), (32,), (1.0,), (2.0,)).numpy()
    assert got.shape == (2 * 4, 4)
    h, w = 32 / math.sqrt(2), 32 * math.sqrt(2)
    np.testing.assert_allclose(
        got[0], [(8 - h / 2) / 32, (8 - w / 2) / 64, (8 + h / 2) / 32, (8 + w / 2) / 64], atol=1e-6
    )
    # Row-major cell order: the second anchor is one column (16 px) to the right.
    np.testing.assert_allclose(got[1] - got[0], [0, 16 / 64, 0, 16 / 64], atol=1e-6)
    np.testing.assert_allclose(got[4] - got[0], [16 / 32, 0, 16 / 32, 0], atol=1e-6)


def test_centres_sizes_and_ratios():
    got = anchor_ops.pyramid_anchors(128, 128, (16,), (40,), (1.0, 2.0), (0.5, 1.0, 2.0)).numpy() * 128
    got = got.reshape(8, 8, 6, 4)
    cy = (got[..., 0] + got[..., 2]) / 2
    cx = (got[..., 1] + got[..., 3]) / 2
    h = got[..., 2] - got[..., 0]
    w = got[..., 3] - got[..., 1]
    np.testing.assert_allclose(cy, ((np.arange(8) + 0.5) * 16)[:, None, None] + 0 * cy, atol=1e-4)
    np.testing.assert_allclose(cx, ((np.arange(8) + 0.5) * 16)[None, :, None] + 0 * cx, atol=1e-4)
    np.testing.assert_allclose((w / h)[0, 0], [0.5, 1, 2, 0.5, 1, 2], rtol=1e-5)
    np.testing.assert_allclose(np.sqrt(h * w)[0, 0], [40, 40, 40, 80, 80, 80], rtol=1e-5)


def test_ssd_default_boxes_follow_the_paper():
    shapes = [(4, 4), (2, 2), (1, 1)]
    got = anchor_ops.ssd_default_boxes(shapes, 0.2, 0.9, (1.0, 2.0, 0.5)).numpy()
    assert got.shape == ((16 + 4 + 1) * 4, 4)
    scales = [0.2, 0.55, 0.9, 1.0]
    start = 0
    for k, (f, _) in enumerate(shapes):
        level = got[start : start + f * f * 4].reshape(f, f, 4, 4)
        start += f * f * 4
        cy = (level[..., 0] + level[..., 2]) / 2
        cx = (level[..., 1] + level[..., 3]) / 2
        np.testing.assert_allclose(cy[:, 0, 0], (np.arange(f) + 0.5) / f, atol=1e-6)
        np.testing.assert_allclose(cx[0, :, 0], (np.arange(f) + 0.5) / f, atol=1e-6)
        h = level[0, 0, :, 2] - level[0, 0, :, 0]
        w = level[0, 0, :, 3] - level[0, 0, :, 1]
        s = scales[k]
        extra = math.sqrt(s * scales[k + 1])
        np.testing.assert_allclose(h, [s, s / math.sqrt(2), s * math.sqrt(2), extra], rtol=1e-5)
        np.testing.assert_allclose(w, [s, s * math.sqrt(2), s / math.sqrt(2), extra], rtol=1e-5)


def test_ssd_per_level_ratios_and_clip():
    got = anchor_ops.ssd_default_boxes([(2, 2), (1, 1)], aspect_ratios=[(1.0,), (2.0, 0.5)], clip=True).numpy()
    assert got.shape == (2 * 2 * 2 + 2, 4)
    assert got.min() >= 0.0 and got.max() <= 1.0


def test_yolo_grid_cells_tile_the_image():
    cells = anchor_ops.yolo_grid_cells(7, 7).numpy()
    assert cells.shape == (49, 4)
    i, j = np.divmod(np.arange(49), 7)
    np.testing.assert_allclose(cells, np.stack([i / 7, j / 7, (i + 1) / 7, (j + 1) / 7], -1), atol=1e-6)


def test_yolo_priors_centred_on_cells():
    priors = [(0.1, 0.2), (0.3, 0.15)]
    boxes = anchor_ops.yolo_grid_cells(3, 4, priors).numpy().reshape(3, 4, 2, 4)
    np.testing.assert_allclose(
        (boxes[..., 0] + boxes[..., 2]) / 2, ((np.arange(3) + 0.5) / 3)[:, None, None] + 0 * boxes[..., 0], atol=1e-6
    )
    np.testing.assert_allclose(
        (boxes[..., 1] + boxes[..., 3]) / 2, ((np.arange(4) + 0.5) / 4)[None, :, None] + 0 * boxes[..., 0], atol=1e-6
    )
    np.testing.assert_allclose(boxes[1, 2, :, 2] - boxes[1, 2, :, 0], [0.1, 0.3], atol=1e-6)
    np.testing.assert_allclose(boxes[1, 2, :, 3] - boxes[1, 2, :, 1], [0.2, 0.15], atol=1e-6)
