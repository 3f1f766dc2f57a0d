"""Bilinear interpolation as the initial weights of a transpose convolution."""

import keras
import numpy as np


def bilinear_kernel(factor):
    """1-D bilinear interpolation filter of length ``2 * factor``.

    ``w[t] = 1 - |t - c| / factor`` with ``c = factor - 0.5``: the weight an
    input pixel gives the output pixel ``t`` positions into its footprint.
    With stride ``factor`` and "same" padding, a transpose convolution with
    the outer product of this filter computes half-pixel bilinear
    interpolation (``tf.image.resize(..., "bilinear")``) away from the
    borders; at the borders the missing neighbour counts as zero.
    """
    factor = int(factor)
    centre = factor - 0.5
    t = np.arange(2 * factor, dtype=np.float64)
    return (1.0 - np.abs(t - centre) / factor).astype(np.float32)


@keras.saving.register_keras_serializable(package="kzoo")
class BilinearUpsampling(keras.initializers.Initializer):
    """Initializer of a ``Conv2DTranspose`` kernel that upsamples bilinearly.

    For a kernel of shape ``(2f, 2f, out_channels, in_channels)`` used with
    ``strides=f`` and ``padding="same"``, channel ``c`` of the output is the
    bilinear upsampling of input channel ``c`` (the first
    ``min(out, in)`` channels; the other weights are zero). FCN initializes
    its learned upsampling this way so training starts from interpolation.

    Args:
        factor: int >= 2, the upsampling factor (the layer's stride).

    Example:
    >>> up = keras.layers.Conv2DTranspose(
    ...     6, 8, strides=4, padding="same", use_bias=False,
    ...     kernel_initializer=BilinearUpsampling(4))

    Reference:
        Long, Shelhamer and Darrell, "Fully Convolutional Networks for
        Semantic Segmentation", CVPR 2015, section 3.3.
    """

    def __init__(self, factor):
        if int(factor) < 2:
            raise ValueError(f"factor must be at least 2, got {factor}")
        self.factor = int(factor)

    def __call__(self, shape, dtype=None):
        kh, kw, out_channels, in_channels = shape
        if kh != 2 * self.factor or kw != 2 * self.factor:
            side = 2 * self.factor
            raise ValueError(f"a bilinear kernel for factor {self.factor} is {side}x{side}, got {kh}x{kw}")
        filt = bilinear_kernel(self.factor)
        kernel = np.zeros(shape, np.float32)
        for c in range(min(out_channels, in_channels)):
            kernel[:, :, c, c] = np.outer(filt, filt)
        return keras.ops.convert_to_tensor(kernel, dtype=dtype or "float32")

    def get_config(self):
        return {"factor": self.factor}


def bilinear_transpose_conv(channels, factor, trainable=True, name=None):
    """A ``Conv2DTranspose`` that upsamples ``channels`` maps by ``factor``, starting bilinear.

    The output is exactly ``factor`` times the input ("same" padding,
    kernel ``2 * factor``); no bias, as in FCN.
    """
    return keras.layers.Conv2DTranspose(
        channels,
        2 * factor,
        strides=factor,
        padding="same",
        use_bias=False,
        kernel_initializer=BilinearUpsampling(factor),
        trainable=trainable,
        name=name,
    )
