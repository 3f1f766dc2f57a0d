"""Predictors take uint8 images of any size; anything else gets a clear answer, never a silent guess."""

import numpy as np
import pytest

from kzoo.export.predictor import as_pixels, as_proposals


@pytest.mark.parametrize("images, message", [
    (np.zeros((32, 32, 3), np.uint8), "N, H, W, 3"),
    (np.zeros((1, 32, 32, 4), np.uint8), "N, H, W, 3"),
    (np.full((1, 8, 8, 3), np.nan, np.float32), "NaN"),
    (np.array([[[["a", "b", "c"]]]]), "numbers"),
])
def test_bad_images_are_refused(images, message):
    with pytest.raises(ValueError, match=message):
        as_pixels(images)


def test_floats_in_zero_one_draw_a_warning_and_pixel_floats_are_rounded():
    with pytest.warns(UserWarning, match="floats in"):
        as_pixels(np.full((1, 4, 4, 3), 0.5, np.float32))
    got = as_pixels(np.array([[[[12.6, 300.0, -4.0]]]], np.float32))
    np.testing.assert_array_equal(got, [[[[13, 255, 0]]]])
    assert got.dtype == np.uint8


@pytest.mark.parametrize("proposals, message", [
    (np.zeros((2, 5, 4)), r"\[N, P, 4\] = \[1, 5, 4\]"),  # one box list per image
    (np.zeros((1, 6, 4)), r"\[1, 5, 4\]"),
    (np.zeros((1, 5, 5)), r"\[1, 5, 4\]"),
    (np.full((1, 5, 4), np.inf), "NaN or infinite"),
])
def test_bad_proposals_are_refused(proposals, message):
    with pytest.raises(ValueError, match=message):
        as_proposals(proposals, num_images=1, num_proposals=5)
    assert as_proposals(np.zeros((1, 5, 4), np.float64), 1, 5).dtype == np.float32
