"""Nearest-neighbour unpooling layer."""

import keras

from kzoo.ops import unpooling


@keras.saving.register_keras_serializable(package="kzoo")
class NearestUnpooling2D(keras.layers.Layer):
    """Upsample by copying each value into its whole cell.

    The lecture's nearest-neighbour "unpooling": a 2x2 input
    ``[[1, 2], [3, 4]]`` becomes ``[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4],
    [3, 3, 4, 4]]``. Same values as ``keras.layers.UpSampling2D`` with
    ``interpolation="nearest"``, written with reshape and tile so it also
    works on integer tensors (such as pooling switches) and converts to TFLite
    without a resize op.

    Args:
        size: int or pair ``(sh, sw)``, the upsampling factor.
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``).

    Call arguments:
        inputs: ``[N, H, W, C]`` tensor.

    Returns:
        ``[N, H * sh, W * sw, C]`` tensor of the input's dtype.

    Example:
    >>> x = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    >>> NearestUnpooling2D(2)(x)[0, :, :, 0]
    [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]

    Reference:
        Long, Shelhamer and Darrell, "Fully Convolutional Networks for
        Semantic Segmentation", CVPR 2015.
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = unpooling._pair(size, "size")

    def call(self, inputs):
        return unpooling.nearest_unpooling(inputs, self.size)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (
            n,
            None if h is None else h * self.size[0],
            None if w is None else w * self.size[1],
            c,
        )

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size})
        return config
