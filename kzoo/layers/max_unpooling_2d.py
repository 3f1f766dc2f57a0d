"""Max unpooling: values back at the positions their pooling recorded."""

import keras

from kzoo.ops import unpooling


@keras.saving.register_keras_serializable(package="kzoo")
class MaxUnpooling2D(keras.layers.Layer):
    """Place each value at the position recorded by :class:`MaxPoolingWithArgmax2D`.

    The lecture's "max unpooling": the decoder remembers which element of
    each window was the maximum in the matching pooling layer of the encoder
    and puts its value there, with zeros at every other position. Built from
    a nearest-neighbour copy and an index comparison, so it needs no scatter
    op and converts to TFLite builtins.

    Args:
        size: int or pair ``(sh, sw)``, the window of the matching pooling.
        output_size: optional ``(H, W)``, the matching pooling's input size;
            needed only when that size was not a multiple of the window (the
            indices were computed with that width). Defaults to
            ``(h * sh, w * sw)``.
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``).

    Call arguments:
        inputs: list ``[values, argmax]``: ``values`` ``[N, h, w, C]`` float
            and ``argmax`` ``[N, h, w, C]`` integer per-image flat indices
            ``(y * W + x) * C + c`` (the switches of the pooling layer).

    Returns:
        ``[N, H, W, C]`` tensor, zero except at the recorded positions.

    Example:
    >>> x = np.array([[1, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]],
    ...              "float32").reshape(1, 4, 4, 1)
    >>> _, switches = MaxPoolingWithArgmax2D(2)(x)
    >>> values = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    >>> MaxUnpooling2D(2)([values, switches])[0, :, :, 0]
    [[0, 0, 2, 0], [0, 1, 0, 0], [0, 0, 0, 0], [3, 0, 0, 4]]

    Reference:
        Noh, Hong and Han, "Learning Deconvolution Network for Semantic
        Segmentation", ICCV 2015; Badrinarayanan, Kendall and Cipolla,
        "SegNet: A Deep Convolutional Encoder-Decoder Architecture for Image
        Segmentation", TPAMI 2017.
    """

    def __init__(self, size=2, output_size=None, **kwargs):
        super().__init__(**kwargs)
        self.size = unpooling._pair(size, "size")
        self.output_size = None if output_size is None else unpooling._pair(output_size, "output_size")

    def call(self, inputs):
        values, argmax = inputs
        return unpooling.max_unpooling(values, argmax, self.size, self.output_size)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape[0]
        if self.output_size is not None:
            return (n, *self.output_size, c)
        return (
            n,
            None if h is None else h * self.size[0],
            None if w is None else w * self.size[1],
            c,
        )

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "output_size": self.output_size})
        return config
