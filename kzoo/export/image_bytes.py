"""Decoding untrusted image bytes inside a serving graph, safely.

Every image is checked before it is decoded: it must be a JPEG or PNG, and
the size its header claims must stay under a pixel budget, so a tiny request
claiming a 60000 x 60000 image is refused at once instead of allocating
gigabytes. Corrupt or truncated data fails in the decoder with a clear
InvalidArgumentError; the server stays up for the next request.
"""

import tensorflow as tf

# 40 megapixels: far above any camera frame a detector is served, far below
# what would exhaust a server's memory.
MAX_PIXELS = 40_000_000
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SIGNATURE = b"\xff\xd8"


def _after(checks, tensor):
    """``tensor``, computed only once ``checks`` have passed.

    In a graph, asserts and the ops after them would otherwise run in
    parallel, and a decoder could fail (or allocate) before the check that
    should have refused the data.
    """
    with tf.control_dependencies([check for check in checks if check is not None]):
        return tf.identity(tensor)


def _big_endian_uint32(data, offset):
    raw = tf.cast(tf.io.decode_raw(tf.strings.substr(data, offset, 4), tf.uint8), tf.int64)
    return raw[0] * 16777216 + raw[1] * 65536 + raw[2] * 256 + raw[3]


def header_size(data):
    """(height, width) claimed by a JPEG or PNG header, as int64 scalars, without decoding.

    Raises InvalidArgumentError for anything that is neither.
    """
    is_png = tf.equal(tf.strings.substr(data, 0, 8), _PNG_SIGNATURE)
    is_jpeg = tf.equal(tf.strings.substr(data, 0, 2), _JPEG_SIGNATURE)
    known = tf.debugging.assert_equal(
        tf.logical_or(is_png, is_jpeg), True, message="image_bytes must be JPEG or PNG data"
    )
    data = _after([known], data)

    def png_size():
        whole = tf.debugging.assert_greater_equal(tf.strings.length(data), 24, message="truncated PNG header")
        checked = _after([whole], data)
        return tf.stack([_big_endian_uint32(checked, 20), _big_endian_uint32(checked, 16)])

    def jpeg_size():
        return tf.cast(tf.io.extract_jpeg_shape(data)[:2], tf.int64)

    size = tf.cond(is_png, png_size, jpeg_size)
    return size[0], size[1]


def within_budget(height, width, max_pixels):
    """Whether ``height * width <= max_pixels``, without overflow for sides up to 2**32 (a PNG header's)."""
    height, width = tf.cast(height, tf.int64), tf.cast(width, tf.int64)
    budget = tf.constant(max_pixels, tf.int64)
    # Each side within the budget first: then the product stays far below 2**63.
    sides = (height <= budget) & (width <= budget)
    return sides & (tf.where(sides, height * width, budget + 1) <= budget)


def decode_checked(data, height, width, max_pixels=MAX_PIXELS):
    """One JPEG/PNG string -> float32 [height, width, 3] in [0, 255], refusing oversized claims before decoding.

    The result stays float: rounding the resized image back to uint8 would
    make bytes requests differ from pixel requests of the same image.
    """
    claimed_h, claimed_w = header_size(data)
    small_enough = tf.debugging.assert_equal(
        within_budget(claimed_h, claimed_w, max_pixels), True,
        message=f"image too large: the header claims more than {max_pixels} pixels",
    )
    image = tf.io.decode_image(_after([small_enough], data), channels=3, expand_animations=False)
    return tf.image.resize(image, (height, width))


def decode_batch(image_bytes, height, width, max_pixels=MAX_PIXELS):
    """string [N] -> float32 [N, height, width, 3]; an empty batch gives an empty result."""
    return tf.map_fn(
        lambda data: decode_checked(data, height, width, max_pixels),
        image_bytes,
        fn_output_signature=tf.TensorSpec((height, width, 3), tf.float32),
    )
