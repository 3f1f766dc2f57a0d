"""An image pyramid: the input resized by several factors, as a Keras layer."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="kzoo")
class ImagePyramid(keras.layers.Layer):
    """Resize images by each of several factors (bilinear, half-pixel centres).

    A level of an ``H x W`` input has size ``max(min_size, round(H * s))`` by
    ``max(min_size, round(W * s))``. Unlike ``keras.layers.Resizing``, whose
    ``training=True`` default leaks into the layers after it when a model is
    called without ``training`` (batch normalization then runs in training
    mode), this layer has no training behaviour at all.

    Args:
        scales: resize factors, one per level.
        min_size: smallest side of a level, in pixels.
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        images: float [N, H, W, C] with a static H and W.

    Returns:
        list of float [N, h_k, w_k, C], one per scale.

    Example:

    >>> levels = ImagePyramid(scales=(2.0, 1.0, 0.5))(keras.Input((64, 64, 3)))
    >>> [tuple(level.shape) for level in levels]  # [(None, 128, 128, 3), (None, 64, 64, 3), (None, 32, 32, 3)]

    Reference:
        Adelson et al., "Pyramid methods in image processing", RCA Engineer
        1984; Sermanet et al., "OverFeat", ICLR 2014 (multi-scale sliding windows).
    """

    def __init__(self, scales=(1.0,), min_size=1, **kwargs):
        super().__init__(**kwargs)
        if not scales or any(s <= 0 for s in scales):
            raise ValueError(f"scales must be positive factors, got {scales}")
        self.scales = tuple(float(s) for s in scales)
        self.min_size = int(min_size)

    def level_sizes(self, height, width):
        """(height, width) of each level for an ``height x width`` input (Python ints)."""
        return [
            (max(self.min_size, round(height * s)), max(self.min_size, round(width * s))) for s in self.scales
        ]

    def call(self, images):
        height, width = images.shape[1], images.shape[2]
        if height is None or width is None:
            raise ValueError("ImagePyramid needs images with a static height and width")
        return [tf.image.resize(images, size, method="bilinear") for size in self.level_sizes(height, width)]

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return [(batch, h, w, channels) for h, w in self.level_sizes(height, width)]

    def get_config(self):
        config = super().get_config()
        config.update({"scales": list(self.scales), "min_size": self.min_size})
        return config
