"""Bad requests to every signature get a clear error (or an empty result), and the next good one works."""

import time

import numpy as np
import pytest
import tensorflow as tf

import kzoo
from kzoo.export import export_saved_model


@pytest.fixture(scope="module")
def signatures(tmp_path_factory):
    model = kzoo.build("classifier", num_classes=3, backbone="tiny", input_shape=(32, 32, 3))
    path = export_saved_model(model, str(tmp_path_factory.mktemp("sm")), "classifier")
    return tf.saved_model.load(path).signatures


def _png(shape=(20, 30, 3)):
    return tf.io.encode_png(np.full(shape, 100, np.uint8)).numpy()


def _jpeg(shape=(20, 30, 3)):
    return tf.io.encode_jpeg(np.full(shape, 100, np.uint8)).numpy()


def _huge_png_header(height=60000, width=60000):
    ihdr = b"IHDR" + width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + (13).to_bytes(4, "big") + ihdr + b"\x00\x00\x00\x00"


def _example(data):
    feature = {"image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(value=[data]))}
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _good_request_works(signatures):
    out = signatures["serving_default"](images=tf.zeros((1, 32, 32, 3), tf.uint8))
    assert out["probabilities"].shape == (1, 3)
    out = signatures["serving_bytes"](image_bytes=tf.constant([_png()]))
    assert out["probabilities"].shape == (1, 3)


@pytest.mark.parametrize(
    "images, message",
    [
        (tf.zeros((1, 32, 32, 3), tf.float32), "uint8|dtype|float"),
        (tf.zeros((32, 32, 3), tf.uint8), "shape|rank"),
        (tf.zeros((1, 32, 32, 4), tf.uint8), "shape|channels|3"),
    ],
    ids=["wrong dtype", "wrong rank", "wrong channels"],
)
def test_bad_pixel_requests_are_refused(signatures, images, message):
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError), match=message):
        signatures["serving_default"](images=images)
    _good_request_works(signatures)


def test_empty_batches_give_empty_results(signatures):
    out = signatures["serving_default"](images=tf.zeros((0, 32, 32, 3), tf.uint8))
    assert out["probabilities"].shape == (0, 3)
    out = signatures["serving_bytes"](image_bytes=tf.constant([], tf.string))
    assert out["probabilities"].shape == (0, 3)
    out = signatures["tf_example"](examples=tf.constant([], tf.string))
    assert out["classes"].shape == (0,)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"definitely not an image", "JPEG or PNG"),
        (_png()[:40], "PNG|truncated|Invalid"),
        (_jpeg()[:60], "JPEG|truncated|Invalid|corrupt"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "PNG|Invalid|size|decode"),
        (b"\xff\xd8\xff" + b"\x13" * 50, "JPEG|Invalid|corrupt"),
    ],
    ids=["not an image", "truncated png", "truncated jpeg", "corrupt png", "corrupt jpeg"],
)
def test_corrupt_bytes_are_refused(signatures, data, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        signatures["serving_bytes"](image_bytes=tf.constant([data]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        signatures["tf_example"](examples=tf.constant([_example(data)]))
    _good_request_works(signatures)


def test_huge_claimed_image_is_refused_before_decoding(signatures):
    data = _huge_png_header()
    assert len(data) < 64
    serve = signatures["serving_bytes"]
    serve(image_bytes=tf.constant([_png()]))  # warm up
    start = time.perf_counter()
    serve(image_bytes=tf.constant([_png()]))
    good_seconds = time.perf_counter() - start
    start = time.perf_counter()
    with pytest.raises(tf.errors.InvalidArgumentError, match="too large"):
        serve(image_bytes=tf.constant([data]))
    refused_seconds = time.perf_counter() - start
    # Decoding 60000 x 60000 pixels would take minutes and 10 GB; refusing costs about one small request.
    assert refused_seconds < 20 * good_seconds + 0.05, (refused_seconds, good_seconds)
    _good_request_works(signatures)


def test_jpeg_and_png_of_any_size_are_served(signatures):
    out = signatures["serving_bytes"](image_bytes=tf.constant([_png((50, 20, 3)), _jpeg((17, 90, 3))]))
    assert out["probabilities"].shape == (2, 3)
