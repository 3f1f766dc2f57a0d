"""Serving limits: a configurable pixel budget for pixel and byte requests, safe from overflow, and
segmentation maps at the request image's own size."""

import numpy as np
import pytest
import tensorflow as tf

import kzoo
from kzoo.export import export_saved_model, load_predictor
from kzoo.export.image_bytes import within_budget


def _png_header(height, width):
    ihdr = b"IHDR" + width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + (13).to_bytes(4, "big") + ihdr + b"\x00\x00\x00\x00"


def test_the_budget_check_does_not_overflow():
    largest = 0xFFFFFFFF  # what a PNG header can claim on each side
    assert not bool(within_budget(largest, largest, 40_000_000))
    assert not bool(within_budget(2**31 + 1, 2, 40_000_000))
    assert bool(within_budget(4000, 10_000, 40_000_000)) and not bool(within_budget(4001, 10_000, 40_000_000))


@pytest.fixture(scope="module")
def segmenter(tmp_path_factory):
    model = kzoo.build("fcn8s", num_classes=3, backbone="tiny", input_shape=(32, 32, 3))
    path = export_saved_model(model, str(tmp_path_factory.mktemp("saved")), "seg", max_pixels=100 * 100)
    return tf.saved_model.load(path).signatures, load_predictor(path)


def test_segmentation_comes_back_at_the_request_size(segmenter):
    _, predictor = segmenter
    out = predictor.predict(np.zeros((2, 90, 20, 3), np.uint8))
    assert out["segmentation_mask"].shape == (2, 90, 20)
    assert out["segmentation_probs"].shape == (2, 90, 20, 4)
    np.testing.assert_allclose(out["segmentation_probs"].sum(-1), 1.0, atol=1e-4)


def test_requests_over_the_pixel_budget_are_refused_and_the_next_good_one_served(segmenter):
    signatures, predictor = segmenter
    with pytest.raises(tf.errors.InvalidArgumentError, match="too large"):
        signatures["serving_default"](images=tf.zeros((1, 101, 100, 3), tf.uint8))
    with pytest.raises(tf.errors.InvalidArgumentError, match="too large"):
        signatures["serving_bytes"](image_bytes=tf.constant([_png_header(0xFFFFFFFF, 0xFFFFFFFF)]))
    good = signatures["serving_default"](images=tf.zeros((1, 100, 100, 3), tf.uint8))
    assert good["segmentation_mask"].shape == (1, 100, 100)
