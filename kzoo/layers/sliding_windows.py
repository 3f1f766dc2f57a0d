"""The windows of a crop classifier run over an image pyramid, as a Keras layer."""

import keras
import tensorflow as tf

from kzoo.ops import anchors as anchor_ops


@keras.saving.register_keras_serializable(package="kzoo")
class SlidingWindows(keras.layers.Layer):
    """The boxes a sliding-window detector classifies, one per crop, for the levels of an image pyramid.

    A crop classifier of ``window x window`` crops made of unpadded
    convolutions of total stride ``stride``, run convolutionally over an
    image resized to ``h x w``, classifies the crops at every ``stride``
    pixels: ``(h - window) // stride + 1`` rows by ``(w - window) // stride
    + 1`` columns (``kzoo.ops.anchors.sliding_windows``). In the original
    image a crop covers ``window / s`` pixels at resize factor ``s``.
    Levels are concatenated in order, each row-major: the order in which the
    classifier's outputs reshape and concatenate.

    Args:
        window: crop side in pixels of the resized image.
        stride: step between crops in pixels (the classifier's total stride).
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        levels: list of [N, h_k, w_k, C] images (the image pyramid's levels)
            with static sizes, each at least ``window``; only their shapes
            are used.

    Returns:
        float32 [N, A, 4] normalized ``[ymin, xmin, ymax, xmax]`` windows (the
        same for every image).

    Example:

    >>> levels = [keras.Input((64, 64, 3)), keras.Input((32, 32, 3))]
    >>> SlidingWindows(window=32, stride=8)(levels).shape  # (None, 25 + 1, 4)

    Reference:
        Sermanet et al., "OverFeat: Integrated Recognition, Localization and
        Detection using Convolutional Networks", ICLR 2014.
    """

    def __init__(self, window=32, stride=8, **kwargs):
        # Box coordinates stay float32 under a mixed-precision policy.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if int(window) < 1 or int(stride) < 1:
            raise ValueError(f"window and stride must be positive, got {window} and {stride}")
        self.window = int(window)
        self.stride = int(stride)

    def _sizes(self, shapes):
        sizes = [(shape[1], shape[2]) for shape in shapes]
        for h, w in sizes:
            if h is None or w is None:
                raise ValueError("SlidingWindows needs levels with a static height and width")
            if h < self.window or w < self.window:
                raise ValueError(f"a level of size {(h, w)} holds no {self.window}x{self.window} window")
        return sizes

    def num_windows(self, level_sizes):
        """A, the number of windows over levels of ``level_sizes`` ``[(h, w), ...]``."""
        window, stride = self.window, self.stride
        return sum(((h - window) // stride + 1) * ((w - window) // stride + 1) for h, w in level_sizes)

    def windows(self, level_sizes):
        """float32 [A, 4]: the windows over levels of ``level_sizes``, without the batch axis."""
        return anchor_ops.sliding_windows(level_sizes, self.window, self.stride)

    def call(self, levels):
        levels = list(levels) if isinstance(levels, (list, tuple)) else [levels]
        windows = self.windows(self._sizes([level.shape for level in levels]))
        return tf.broadcast_to(windows[None], tf.concat([tf.shape(levels[0])[:1], tf.shape(windows)], 0))

    def compute_output_shape(self, input_shape):
        shapes = list(input_shape) if isinstance(input_shape, list) else [input_shape]
        return (shapes[0][0], self.num_windows(self._sizes(shapes)), 4)

    def get_config(self):
        config = super().get_config()
        config.update({"window": self.window, "stride": self.stride})
        return config
