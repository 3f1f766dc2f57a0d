import numpy as np
import pytest
import tensorflow as tf

from kzoo.export.tf_examples import looks_like_examples, parse_examples

SPEC = {"image/encoded": tf.io.FixedLenFeature([], tf.string)}


def _example(payload):
    feature = tf.train.Feature(bytes_list=tf.train.BytesList(value=[payload]))
    return tf.train.Example(features=tf.train.Features(feature={"image/encoded": feature})).SerializeToString()


# Payload sizes whose Example lengths need 1, 2, 3 and 4 varint bytes.
SIZES = [0, 10, 300, 40_000, 3_000_000]


def test_real_examples_of_every_length_pass_and_parse():
    rng = np.random.default_rng(0)
    payloads = [rng.integers(0, 256, size, dtype=np.uint8).tobytes() for size in SIZES]
    serialized = tf.constant([_example(p) for p in payloads] + [b""])
    assert looks_like_examples(serialized).numpy().all()
    parsed = parse_examples(serialized[:-1], SPEC)["image/encoded"].numpy()
    assert list(parsed) == payloads
    empty = tf.constant([], tf.string)
    assert looks_like_examples(empty).shape == (0,)
    assert parse_examples(empty, SPEC)["image/encoded"].shape == (0,)


@pytest.mark.parametrize(
    "data",
    [
        b"hello",
        b"\xff\xd8\xff\xe0" + bytes(range(256)),  # a JPEG where an Example belongs
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        _example(b"abc")[:-1],  # truncated
        _example(b"abc") + b"\x00",  # trailing bytes
        b"\x0a\xff\xff\xff\xff\xff\xff",  # a length varint that never ends
    ],
    ids=["text", "jpeg", "png", "truncated", "trailing", "endless varint"],
)
def test_anything_else_is_refused_with_a_readable_error(data):
    good = _example(b"abc")
    assert looks_like_examples(tf.constant([good, data])).numpy().tolist() == [True, False]
    with pytest.raises(tf.errors.InvalidArgumentError, match="serialized tf.train.Example"):
        parse_examples(tf.constant([good, data]), SPEC)
