"""Parsing ``tf.train.Example`` requests inside a serving graph, refusing anything else first.

``tf.io.parse_example`` quotes the offending bytes in its error, and for data
that is not UTF-8 (a JPEG sent where an Example belongs, say) the Python
client cannot even decode that error: it gets a ``UnicodeDecodeError``. So
every string is checked against the Example wire format before parsing.
"""

import tensorflow as tf

# tf.train.Example has one field, ``features`` (number 1, length-delimited):
# its serialized form is empty or the tag byte 0x0A, a varint length, and
# exactly that many bytes.
_FEATURES_TAG = 0x0A
_MAX_VARINT_BYTES = 5


def looks_like_examples(serialized):
    """bool [N]: whether each string of ``serialized`` [N] has the wire form of a ``tf.train.Example``."""
    padding = "\0" * (1 + _MAX_VARINT_BYTES)
    head = tf.strings.substr(tf.strings.join([serialized, padding]), 0, 1 + _MAX_VARINT_BYTES)
    # fixed_length keeps the shape [N, 6] for an empty batch too.
    head = tf.cast(tf.io.decode_raw(head, tf.uint8, fixed_length=1 + _MAX_VARINT_BYTES), tf.int64)
    length = tf.zeros_like(head[:, 0])
    header_bytes = tf.ones_like(length)
    continuing = tf.ones_like(length, tf.bool)
    for k in range(1, 1 + _MAX_VARINT_BYTES):
        length += tf.where(continuing, (head[:, k] % 128) * 128 ** (k - 1), 0)
        header_bytes += tf.cast(continuing, tf.int64)
        continuing &= head[:, k] >= 128
    size = tf.cast(tf.strings.length(serialized), tf.int64)
    framed = (head[:, 0] == _FEATURES_TAG) & ~continuing & (header_bytes + length == size)
    return (size == 0) | framed


def parse_examples(serialized, features):
    """``tf.io.parse_example(serialized, features)`` once every string is known to be an Example.

    Raises InvalidArgumentError "examples must be serialized tf.train.Example
    protos" for any that is not.
    """
    check = tf.debugging.assert_equal(
        looks_like_examples(serialized), True,
        message="examples must be serialized tf.train.Example protos",
    )
    with tf.control_dependencies([check]):
        serialized = tf.identity(serialized)
    return tf.io.parse_example(serialized, features)
