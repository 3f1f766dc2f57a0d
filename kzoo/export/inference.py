"""The inference graph every export holds: raw pixels in, predictions out.

uint8 images of any size are resized to the model's input size inside the
graph, run through the model, and decoded (softmax, box decoding, NMS, ...)
into the prediction dict (docs/design.md, "Predictions"), so a server or
device needs nothing else.
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
    """Returns ``predict(images)``: uint8 (or float in [0, 255]) [N, H, W, 3] of any size -> prediction dict.

    Rank and channels are checked at run time: a loaded SavedModel signature
    does not enforce its input shape, so serving signatures declare their
    input with unknown rank and rely on these checks for a clear error.
    """
    decode = spec_of(model).decode
    height, width = model_input_size(model)

    def predict(images):
        images = tf.convert_to_tensor(images)
        # The checks run before anything else touches the request.
        checks = [
            tf.debugging.assert_equal(tf.rank(images), 4, message="images must have rank 4: [N, H, W, 3]"),
            tf.debugging.assert_equal(tf.shape(images)[-1], 3, message="images must have 3 channels (RGB)"),
        ]
        with tf.control_dependencies(checks):
            images = tf.ensure_shape(tf.identity(images), [None, None, None, 3])
        pixels = tf.image.resize(tf.cast(images, tf.float32), (height, width))
        # Some kernels mishandle an empty batch (a convolution returns its input
        # unchanged), so an empty request runs on one blank image and the
        # outputs are cut back to zero rows.
        count = tf.shape(pixels)[0]
        pixels = tf.cond(count > 0, lambda: pixels, lambda: tf.zeros([1, height, width, 3]))
        predictions = decode(model, model(pixels, training=False))
        return {key: value[:count] for key, value in predictions.items()}

    return predict
