"""Bad requests to every signature of every registered model get a clear error (or an empty result).

After each refused request the next good one still works. Parametrized over
``kzoo.list_models()``; each model is exported once per session
(``small_export`` in ``conftest.py``).
"""

import time

import numpy as np
import pytest
import tensorflow as tf

import kzoo


# Mask R-CNN, keypoint R-CNN and R-FCN are served by Faster R-CNN's request handling unchanged (the same
# inference function, image-only inputs): their bad-input checks are the long ones.
_SAME_SERVING_AS_FASTER_RCNN = {"mask_rcnn", "keypoint_rcnn", "rfcn"}


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(name, marks=pytest.mark.slow) if name in _SAME_SERVING_AS_FASTER_RCNN else name
        for name in kzoo.list_models()
    ],
)
def exported(request, small_export):
    return small_export(request.param)


@pytest.fixture(scope="module")
def signatures(exported):
    return exported.signatures


def _batch_sizes(outputs):
    return {key: int(value.shape[0]) for key, value in outputs.items()}


def _pixels(exported, count=1, channels=3, dtype=tf.uint8):
    height, width = exported.images.shape[1:3]
    return tf.zeros((count, height, width, channels), dtype)


def _png(shape=(20, 30, 3)):
    return tf.io.encode_png(np.full(shape, 100, np.uint8)).numpy()


def _jpeg(shape=(20, 30, 3)):
    return tf.io.encode_jpeg(np.full(shape, 100, np.uint8)).numpy()


def _huge_png_header(height=60000, width=60000):
    ihdr = b"IHDR" + width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + (13).to_bytes(4, "big") + ihdr + b"\x00\x00\x00\x00"


def _proposals(exported, count=1):
    """The proposals input of models that take external proposals (R-CNN, Fast R-CNN), else nothing."""
    if "proposals" not in exported.feed:
        return {}
    boxes = np.tile(np.array([0.1, 0.1, 0.6, 0.7], np.float32), (count, exported.feed["proposals"].shape[1], 1))
    return {"proposals": tf.constant(boxes)}


def _example(data, exported=None):
    feature = {"image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(value=[data]))}
    if exported is not None and "proposals" in exported.feed:
        boxes = _proposals(exported)["proposals"].numpy().reshape(-1)
        feature["image/proposals"] = tf.train.Feature(float_list=tf.train.FloatList(value=boxes))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _good_request_works(exported):
    signatures = exported.signatures
    out = signatures["serving_default"](images=tf.zeros((1, 32, 32, 3), tf.uint8), **_proposals(exported))
    assert set(_batch_sizes(out).values()) == {1}, _batch_sizes(out)
    out = signatures["serving_bytes"](image_bytes=tf.constant([_png()]), **_proposals(exported))
    assert set(_batch_sizes(out).values()) == {1}, _batch_sizes(out)


@pytest.mark.parametrize(
    "make_images, message",
    [
        (lambda e: _pixels(e, dtype=tf.float32), "uint8|dtype|float"),
        (lambda e: _pixels(e)[0], "shape|rank"),
        (lambda e: _pixels(e, channels=4), "shape|channels|3"),
    ],
    ids=["wrong dtype", "wrong rank", "wrong channels"],
)
def test_bad_pixel_requests_are_refused(exported, signatures, make_images, message):
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError), match=message):
        signatures["serving_default"](images=make_images(exported), **_proposals(exported))
    _good_request_works(exported)


def test_empty_batches_give_empty_results(exported, signatures):
    full = signatures["serving_default"](images=_pixels(exported), **_proposals(exported))
    empty = signatures["serving_default"](images=_pixels(exported, count=0), **_proposals(exported, 0))
    assert set(empty) == set(full)
    for key, value in empty.items():
        assert value.shape == (0,) + tuple(full[key].shape[1:]), key
    for out in (
        signatures["serving_bytes"](image_bytes=tf.constant([], tf.string), **_proposals(exported, 0)),
        signatures["tf_example"](examples=tf.constant([], tf.string)),
    ):
        assert set(out) == set(full) and set(_batch_sizes(out).values()) == {0}, _batch_sizes(out)
    _good_request_works(exported)


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
def test_corrupt_bytes_are_refused(exported, signatures, data, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        signatures["serving_bytes"](image_bytes=tf.constant([data]), **_proposals(exported))
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        signatures["tf_example"](examples=tf.constant([_example(data, exported)]))
    _good_request_works(exported)


def test_non_example_strings_are_refused_readably(exported, signatures):
    # parse_example would quote these bytes in an error Python cannot decode.
    for data in (_jpeg(), b"plain text"):
        with pytest.raises(tf.errors.InvalidArgumentError, match="serialized tf.train.Example"):
            signatures["tf_example"](examples=tf.constant([data]))
    _good_request_works(exported)


def test_huge_claimed_image_is_refused_before_decoding(exported, signatures):
    data = _huge_png_header()
    assert len(data) < 64
    extra = _proposals(exported)
    serve = signatures["serving_bytes"]
    serve(image_bytes=tf.constant([_png()]), **extra)  # warm up
    start = time.perf_counter()
    serve(image_bytes=tf.constant([_png()]), **extra)
    good_seconds = time.perf_counter() - start
    start = time.perf_counter()
    with pytest.raises(tf.errors.InvalidArgumentError, match="too large"):
        serve(image_bytes=tf.constant([data]), **extra)
    refused_seconds = time.perf_counter() - start
    # Decoding 60000 x 60000 pixels would take minutes and 10 GB; refusing costs about one small request.
    assert refused_seconds < 20 * good_seconds + 0.05, (refused_seconds, good_seconds)
    _good_request_works(exported)


def test_jpeg_and_png_of_any_size_are_served(exported, signatures):
    images = tf.constant([_png((50, 20, 3)), _jpeg((17, 90, 3))])
    out = signatures["serving_bytes"](image_bytes=images, **_proposals(exported, 2))
    assert set(_batch_sizes(out).values()) == {2}, _batch_sizes(out)
