"""Pad images so every pooling stage of a segmentation network divides them."""

import keras
import tensorflow as tf

MODES = ("constant", "reflect", "symmetric")


def pad_to_multiple(images, multiple, mode="constant"):
    """Pad ``[N, H, W, C]`` at the bottom and right to the next multiples of ``multiple``.

    Args:
        images: ``[N, H, W, C]`` tensor; H and W may be dynamic.
        multiple: int, the network's total stride.
        mode: ``"constant"`` (zeros), ``"reflect"`` or ``"symmetric"`` (as
            ``tf.pad``; the mirror modes need pads smaller than the image).

    Returns:
        ``[N, ceil(H / m) * m, ceil(W / m) * m, C]``; the input sits at the
        top-left, so cropping ``[:H, :W]`` recovers its pixels' outputs.
    """
    images = tf.convert_to_tensor(images)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    shape = tf.shape(images)
    pad_h = (-shape[1]) % multiple
    pad_w = (-shape[2]) % multiple
    paddings = tf.stack([[0, 0], [0, pad_h], [0, pad_w], [0, 0]])
    return tf.pad(images, paddings, mode=mode.upper())


def padded_size(size, multiple):
    """Static padded length (None stays None)."""
    return None if size is None else -(-int(size) // multiple) * multiple


@keras.saving.register_keras_serializable(package="kzoo")
class PadToMultiple(keras.layers.Layer):
    """Pad the bottom and right of images to a multiple of the network's stride.

    Encoder-decoder networks halve their maps several times and double them
    back; an input whose side is not a multiple of the total stride would
    come back a few pixels short (or fail to concatenate with a skip). Padding
    first and cropping the output back (:class:`CropToMatch`) gives an output
    of the input's size at any size, static or dynamic.

    Args:
        multiple: int >= 1, the total stride of the network.
        mode: ``"constant"`` (default), ``"reflect"`` or ``"symmetric"``
            (the U-Net paper's mirroring of missing context).
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``).

    Call arguments:
        inputs: ``[N, H, W, C]`` tensor.

    Returns:
        ``[N, ceil(H / multiple) * multiple, ceil(W / multiple) * multiple, C]``.

    Example:
    >>> PadToMultiple(32)(np.zeros((1, 100, 64, 3), "float32")).shape
    (1, 128, 64, 3)

    Reference:
        Ronneberger, Fischer and Brox, "U-Net: Convolutional Networks for
        Biomedical Image Segmentation", MICCAI 2015 (input tiles sized so
        every pooling sees an even map; mirrored borders).
    """

    def __init__(self, multiple, mode="constant", **kwargs):
        super().__init__(**kwargs)
        if int(multiple) < 1:
            raise ValueError(f"multiple must be a positive int, got {multiple}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.multiple = int(multiple)
        self.mode = mode

    def call(self, inputs):
        return pad_to_multiple(inputs, self.multiple, self.mode)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, padded_size(h, self.multiple), padded_size(w, self.multiple), c)

    def get_config(self):
        config = super().get_config()
        config.update({"multiple": self.multiple, "mode": self.mode})
        return config
