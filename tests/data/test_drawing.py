"""Rasterizers, resize, textures and the occlusion bookkeeping of ``Canvas``."""

import numpy as np
import pytest
import tensorflow as tf

from kzoo.data import drawing


def _inside_polygon_reference(point, vertices):
    """Winding number of a polygon around a point (nonzero means inside)."""
    y, x = point
    winding = 0
    for (y1, x1), (y2, x2) in zip(vertices, np.roll(vertices, -1, axis=0)):
        cross = (x2 - x1) * (y - y1) - (x - x1) * (y2 - y1)
        if y1 <= y < y2 and cross > 0:
            winding += 1
        elif y2 <= y < y1 and cross < 0:
            winding -= 1
    return winding != 0


def test_polygon_mask_matches_winding_number():
    rng = np.random.default_rng(0)
    # A convex quadrilateral and a (simple, non-convex) star.
    quad = np.array([[2.3, 3.1], [4.2, 17.6], [15.8, 14.1], [13.1, 1.7]])
    angles = np.arange(10) * 2 * np.pi / 10
    radii = np.where(np.arange(10) % 2 == 0, 8.0, 3.5)
    star = np.stack([10 + radii * np.sin(angles), 9 + radii * np.cos(angles)], -1)
    star += rng.uniform(0, 0.3, (10, 2))
    for vertices in (quad, star):
        mask = drawing.polygon_mask(vertices, 20, 19)
        expected = np.array(
            [[_inside_polygon_reference((r + 0.5, c + 0.5), vertices) for c in range(19)] for r in range(20)]
        )
        np.testing.assert_array_equal(mask, expected)


def test_axis_aligned_square_by_hand():
    # Square spanning pixels 2..5 (edges at 2 and 6) in both axes.
    mask = drawing.polygon_mask([[2, 2], [2, 6], [6, 6], [6, 2]], 8, 8)
    expected = np.zeros((8, 8), bool)
    expected[2:6, 2:6] = True
    np.testing.assert_array_equal(mask, expected)
    np.testing.assert_allclose(drawing.box_from_mask(mask), [0.25, 0.25, 0.75, 0.75])


def test_disk_and_capsule_match_brute_force():
    disk = drawing.disk_mask((5.2, 6.9), 3.3, 12, 14)
    starts = np.array([[1.0, 1.0], [10.0, 3.0]])
    ends = np.array([[9.5, 12.0], [10.0, 3.0]])  # the second is a single point
    radii = np.array([1.2, 2.0])
    capsule = drawing.capsule_mask(starts, ends, radii, 12, 14)
    for r in range(12):
        for c in range(14):
            p = np.array([r + 0.5, c + 0.5])
            assert disk[r, c] == (np.sum((p - [5.2, 6.9]) ** 2) <= 3.3**2)
            inside = False
            for a, b, radius in zip(starts, ends, radii):
                # Distance to a segment: to an end, or perpendicular when the
                # foot of the perpendicular falls between the ends.
                distance = min(np.linalg.norm(p - a), np.linalg.norm(p - b))
                direction = b - a
                length = np.linalg.norm(direction)
                if length > 0:
                    along = np.dot(p - a, direction) / length
                    if 0 <= along <= length:
                        cross = direction[0] * (p - a)[1] - direction[1] * (p - a)[0]
                        distance = min(distance, abs(cross) / length)
                inside |= distance <= radius
            assert capsule[r, c] == inside


@pytest.mark.parametrize("shape", [(5, 7, 3), (5, 7), (28, 28)])
@pytest.mark.parametrize("size", [(13, 9), (3, 4), (64, 64)])
def test_resize_bilinear_matches_tf_image_resize(shape, size):
    array = np.random.default_rng(1).uniform(0, 255, shape).astype(np.float32)
    expected = tf.image.resize(array if array.ndim == 3 else array[..., None], size, antialias=False)
    expected = expected.numpy() if array.ndim == 3 else expected.numpy()[..., 0]
    np.testing.assert_allclose(drawing.resize_bilinear(array, *size), expected, atol=1e-3)


def test_textures_are_deterministic_and_in_range():
    for seed in range(6):
        a = drawing.random_texture(np.random.default_rng(seed), 16, 20)
        b = drawing.random_texture(np.random.default_rng(seed), 16, 20)
        assert a.shape == (16, 20, 3) and a.dtype == np.float32
        assert a.min() >= 0 and a.max() <= 255
        np.testing.assert_array_equal(a, b)


def test_contrasting_colour_keeps_its_distance():
    rng = np.random.default_rng(2)
    reference = np.array([120.0, 130.0, 140.0])
    for _ in range(20):
        assert np.linalg.norm(drawing.contrasting_colour(rng, reference) - reference) >= 90


def _square(top, left, side, size=10):
    mask = np.zeros((size, size), bool)
    mask[top : top + side, left : left + side] = True
    return mask


def test_canvas_keeps_visible_pixels_and_refuses_hiding_objects():
    canvas = drawing.Canvas(np.zeros((10, 10, 3)), min_visible=0.5)
    assert canvas.paste(_square(0, 0, 4), [255, 0, 0], class_id=2)  # 16 px
    # Covers 4 of its 16 pixels: 75 % stays visible, accepted.
    assert canvas.paste(_square(2, 2, 4), [0, 255, 0], class_id=0)
    # Would cover 10 of the first square's 12 visible pixels: refused, nothing changes.
    before = canvas.image.copy(), canvas.instances.copy()
    assert not canvas.paste(_square(0, 0, 3), [0, 0, 255], class_id=1)
    np.testing.assert_array_equal(canvas.image, before[0])
    np.testing.assert_array_equal(canvas.instances, before[1])
    # Background stuff over the second square's corner: allowed, unowned.
    assert canvas.occlude(_square(5, 5, 1), [9, 9, 9])
    scene = canvas.finish(np.random.default_rng(0), noise_std=0.0)
    first = _square(0, 0, 4) & ~_square(2, 2, 4)
    second = _square(2, 2, 4) & ~_square(5, 5, 1)
    np.testing.assert_array_equal(scene["instances"], first * 1 + second * 2)
    np.testing.assert_array_equal(scene["segmentation"], first * 3 + second * 1)
    np.testing.assert_allclose(scene["boxes"], [[0, 0, 0.4, 0.4], [0.2, 0.2, 0.6, 0.6]])
    assert scene["classes"].tolist() == [2, 0]
    np.testing.assert_array_equal(scene["image"][0, 0], [255, 0, 0])
    np.testing.assert_array_equal(scene["image"][5, 5], [9, 9, 9])
    np.testing.assert_array_equal(scene["image"][3, 3], [0, 255, 0])


def test_empty_canvas_finishes_with_no_objects():
    scene = drawing.Canvas(np.zeros((6, 6, 3)), 0.5).finish(np.random.default_rng(0))
    assert scene["boxes"].shape == (0, 4) and scene["classes"].shape == (0,)
    assert not scene["instances"].any() and not scene["segmentation"].any()
