"""The inference graph every export holds: raw pixels in, predictions out.

uint8 images of any size are resized to the model's input size inside the
graph, run through the model, and decoded (softmax, box decoding, NMS, ...)
into DESIGN.md's prediction dict, so a server or device needs nothing else.
"""

import tensorflow as tf

from kzoo.models.registry import spec_of


def model_input_size(model):
    """(height, width) the model was built for; raises if it is dynamic."""
    height, width = model.input_shape[1:3]
    if height is None or width is None:
        raise ValueError(f"model {model.name!r} has a dynamic input size; build it with a fixed input_shape to export")
    return int(height), int(width)


def make_inference_fn(model):
    """Returns ``predict(images)``: uint8 [N, H, W, 3] of any size -> prediction dict."""
    decode = spec_of(model).decode
    height, width = model_input_size(model)

    def predict(images):
        images = tf.convert_to_tensor(images)
        tf.debugging.assert_rank(images, 4, message="images must be [N, H, W, 3]")
        tf.debugging.assert_equal(tf.shape(images)[-1], 3, message="images must have 3 channels (RGB)")
        pixels = tf.image.resize(tf.cast(images, tf.float32), (height, width))
        return decode(model(pixels, training=False))

    return predict
