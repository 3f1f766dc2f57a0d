"""Learned 2x upsampling: a stride-2 transpose convolution cropped to exactly 2x."""

import keras

ALIGNMENTS = ("pad", "same")


@keras.saving.register_keras_serializable(package="kzoo")
class TransposeConvUpsampling(keras.layers.Layer):
    """Stride-2 transpose convolution whose output is exactly twice the input.

    The lecture's "3x3 transpose convolution, stride 2, pad 1": every input
    pixel adds a copy of the filter, weighted by its value, into the output
    at stride 2, and copies sum where they overlap. Uncropped, an input of
    length ``n`` gives ``2n + k - 2`` outputs (``2n + 1`` for ``k = 3``), so
    ``k - 2`` pixels are cropped to make the output exactly ``2n``. Which
    ones decides where the filter copies sit:

    - ``"pad"`` crops ``(k - 1) // 2`` at the start: the "pad 1" convention of
      the lecture, Caffe and PyTorch (``ConvTranspose2d(k, stride=2,
      padding=(k - 1) // 2, output_padding=...)``); for ``k = 3``, input
      pixel ``i`` writes outputs ``2i - 1 .. 2i + 1``.
    - ``"same"`` crops ``(k - 2) // 2`` at the start: the same numbers as
      ``keras.layers.Conv2DTranspose(..., strides=2, padding="same")``; for
      ``k = 3``, input pixel ``i`` writes outputs ``2i .. 2i + 2``.

    Args:
        filters: number of output channels.
        kernel_size: odd or even int >= 2 (default 3).
        alignment: ``"pad"`` (default) or ``"same"``, as above.
        activation: activation applied after the crop.
        use_bias: whether the convolution adds a bias.
        kernel_initializer: initializer of the transpose-convolution kernel.
        bias_initializer: initializer of the bias.
        kernel_regularizer: optional regularizer of the kernel.
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``).

    Call arguments:
        inputs: ``[N, H, W, C]`` tensor.

    Returns:
        ``[N, 2H, 2W, filters]`` tensor.

    Example:
    >>> up = TransposeConvUpsampling(64)
    >>> up(np.zeros((1, 2, 2, 8), "float32")).shape
    (1, 4, 4, 64)

    Reference:
        Long, Shelhamer and Darrell, "Fully Convolutional Networks for
        Semantic Segmentation", CVPR 2015; Noh, Hong and Han, "Learning
        Deconvolution Network for Semantic Segmentation", ICCV 2015.
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        alignment="pad",
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(kernel_size) < 2:
            raise ValueError(f"kernel_size must be >= 2 to reach 2x with stride 2, got {kernel_size}")
        if alignment not in ALIGNMENTS:
            raise ValueError(f"alignment must be one of {ALIGNMENTS}, got {alignment!r}")
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.alignment = alignment
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.conv = keras.layers.Conv2DTranspose(
            self.filters,
            self.kernel_size,
            strides=2,
            padding="valid",
            use_bias=use_bias,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            kernel_regularizer=self.kernel_regularizer,
            dtype=self.dtype_policy,
            name="conv_transpose",
        )
        excess = self.kernel_size - 2
        start = (self.kernel_size - 1) // 2 if alignment == "pad" else (self.kernel_size - 2) // 2
        self._crop = (start, excess - start)

    def build(self, input_shape):
        self.conv.build(input_shape)

    def call(self, inputs):
        full = self.conv(inputs)
        start, end = self._crop
        stop = -end if end else None
        return self.activation(full[:, start:stop, start:stop, :])

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        return (n, None if h is None else 2 * h, None if w is None else 2 * w, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "alignment": self.alignment,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            }
        )
        return config
