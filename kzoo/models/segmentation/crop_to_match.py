"""Crop a feature map to the spatial size of another one."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="kzoo")
class CropToMatch(keras.layers.Layer):
    """Keep the top-left ``H x W`` of a map, ``H x W`` being a reference's size.

    The counterpart of :class:`PadToMultiple`: the network's output on the
    padded image is cropped back to the input image, and an upsampled map
    is cropped to the skip connection it is fused with (FCN's "crop" layer).
    The sizes are read at run time, so it works for dynamic input sizes; the
    TFLite converter folds them into a constant slice for fixed sizes.

    Args:
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``).

    Call arguments:
        inputs: list ``[x, reference]``: ``x`` ``[N, H', W', C]`` with
            ``H' >= H`` and ``W' >= W``; ``reference`` ``[N, H, W, ...]``
            (only its size is used).

    Returns:
        ``x[:, :H, :W, :]``, ``[N, H, W, C]``.

    Example:
    >>> x, images = np.zeros((1, 128, 128, 6)), np.zeros((1, 100, 120, 3))
    >>> CropToMatch()([x, images]).shape
    (1, 100, 120, 6)

    Reference:
        Long, Shelhamer and Darrell, "Fully Convolutional Networks for
        Semantic Segmentation", CVPR 2015 (crop layers align upsampled
        scores with the input).
    """

    def call(self, inputs):
        x, reference = inputs
        # Static sizes where known keep the output shape (and the TFLite graph) fixed.
        dynamic = tf.shape(reference)
        height = reference.shape[1] if reference.shape[1] is not None else dynamic[1]
        width = reference.shape[2] if reference.shape[2] is not None else dynamic[2]
        return x[:, :height, :width, :]

    def compute_output_shape(self, input_shape):
        x_shape, reference_shape = input_shape
        return (x_shape[0], reference_shape[1], reference_shape[2], x_shape[3])
