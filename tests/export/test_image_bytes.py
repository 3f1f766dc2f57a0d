"""Safe decoding of untrusted image bytes: the checks run before the decoder, every time."""

import numpy as np
import pytest
import tensorflow as tf

from kzoo.export.image_bytes import decode_batch, header_size


def _huge_png_header(height=60000, width=60000):
    ihdr = b"IHDR" + width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + (13).to_bytes(4, "big") + ihdr + b"\x00\x00\x00\x00"


@pytest.fixture(scope="module")
def decode():
    return tf.function(lambda data: decode_batch(data, 8, 8), input_signature=[tf.TensorSpec([None], tf.string)])


def test_header_size_reads_png_and_jpeg_without_decoding():
    png = tf.io.encode_png(np.zeros((20, 30, 3), np.uint8))
    jpeg = tf.io.encode_jpeg(np.zeros((17, 90, 3), np.uint8))
    assert [int(v) for v in header_size(png)] == [20, 30]
    assert [int(v) for v in header_size(jpeg)] == [17, 90]
    assert [int(v) for v in header_size(tf.constant(_huge_png_header()))] == [60000, 60000]


# In a graph the checks and the decoder could run in parallel; whichever failed first would then give its
# message. Many repeats make a race show.
@pytest.mark.parametrize(
    "data, message",
    [(_huge_png_header(), "too large"), (b"definitely not an image", "JPEG or PNG"), (b"\x89PNG\r\n\x1a\n", "truncated")],
    ids=["huge claim", "not an image", "truncated header"],
)
def test_checks_always_come_first_in_a_graph(decode, data, message):
    good = tf.io.encode_png(np.zeros((4, 4, 3), np.uint8))
    for _ in range(40):
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            decode(tf.stack([good, tf.constant(data)]))
