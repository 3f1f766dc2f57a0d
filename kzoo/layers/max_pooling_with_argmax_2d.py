"""Max pooling that remembers where each maximum came from."""

import keras

from kzoo.ops import unpooling


@keras.saving.register_keras_serializable(package="kzoo")
class MaxPoolingWithArgmax2D(keras.layers.Layer):
    """Non-overlapping max pooling returning the pooled values and their switches.

    The "switches" of DeconvNet and SegNet: the position of every maximum,
    so that :class:`MaxUnpooling2D` can later put values back there. Same
    values and indices as ``tf.nn.max_pool_with_argmax`` with stride equal to
    the window, "VALID" padding and ``include_batch_in_index=False``, but
    built from TFLite builtin ops (TFLite has no argmax pooling kernel).

    Indices are per image, ``(y * W + x) * C + c`` into the ``[H, W, C]``
    input, so they do not depend on the batch size or the example's position
    in the batch. Ties go to the first maximum in row-major window order.

    Args:
        pool_size: int or pair ``(ph, pw)``; also the stride.
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``).

    Call arguments:
        inputs: ``[N, H, W, C]`` float tensor.

    Returns:
        Tuple ``(pooled, argmax)``: ``pooled`` ``[N, H // ph, W // pw, C]``
        float, ``argmax`` the same shape, int32.

    Example:
    >>> x = np.array([[1, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]],
    ...              "float32").reshape(1, 4, 4, 1)
    >>> pooled, argmax = MaxPoolingWithArgmax2D(2)(x)
    >>> pooled[0, :, :, 0], argmax[0, :, :, 0]
    ([[5, 6], [7, 8]], [[5, 2], [12, 15]])

    Reference:
        Noh, Hong and Han, "Learning Deconvolution Network for Semantic
        Segmentation", ICCV 2015; Badrinarayanan, Kendall and Cipolla,
        "SegNet: A Deep Convolutional Encoder-Decoder Architecture for Image
        Segmentation", TPAMI 2017.
    """

    def __init__(self, pool_size=2, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = unpooling._pair(pool_size, "pool_size")

    def call(self, inputs):
        return unpooling.max_pool_with_argmax(inputs, self.pool_size)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        shape = (
            n,
            None if h is None else h // self.pool_size[0],
            None if w is None else w // self.pool_size[1],
            c,
        )
        return shape, shape

    def compute_output_spec(self, inputs):
        shape, _ = self.compute_output_shape(inputs.shape)
        return (
            keras.KerasTensor(shape, dtype=self.compute_dtype),
            keras.KerasTensor(shape, dtype="int32"),
        )

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size})
        return config
