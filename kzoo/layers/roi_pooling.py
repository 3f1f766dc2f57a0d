"""Fast R-CNN's RoI max pooling as a Keras layer."""

import keras

from kzoo.ops import roi_pooling, roi_sampling


@keras.saving.register_keras_serializable(package="kzoo")
class RoIPooling(keras.layers.Layer):
    """Max-pool every box into a fixed ``Ph x Pw`` grid of bins (Fast R-CNN).

    The box is snapped to whole cells of the feature map (normalized
    coordinates times the map size, rounded), cut into ``Ph x Pw`` bins of
    integer size (``floor`` at the start of a bin, ``ceil`` at its end, as in
    Fast R-CNN), and each bin keeps the maximum of its cells. Boxes are
    clipped to the map; bins with no cell inside it (boxes outside the image)
    are zero. The snapping is what RoIAlign later removed; this layer exists
    for Fast/Faster R-CNN as published.

    Four gathered cells per bin from a sparse table of block maxima, so the
    cost does not grow with box size; TFLite builtin ops only. The feature
    map needs static height and width.

    Args:
        output_size: int or pair ``(Ph, Pw)`` (default 7).
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``).

    Call arguments:
        inputs: list ``[features, boxes]``: ``features`` ``[N, H, W, C]`` and
            ``boxes`` ``[N, R, 4]`` normalized ``[ymin, xmin, ymax, xmax]``.

    Returns:
        ``[N, R, Ph, Pw, C]``.

    Example:
    >>> features = np.random.rand(1, 14, 14, 512).astype("float32")
    >>> boxes = np.array([[[0.0, 0.0, 1.0, 1.0], [0.2, 0.3, 0.5, 0.9]]], "float32")
    >>> RoIPooling(7)([features, boxes]).shape
    (1, 2, 7, 7, 512)

    Reference:
        Girshick, "Fast R-CNN", ICCV 2015.
    """

    def __init__(self, output_size=7, **kwargs):
        # Maps are cast to the compute dtype in call; boxes keep float32 precision
        # under mixed precision instead of being autocast to float16.
        kwargs.pop("autocast", None)
        super().__init__(autocast=False, **kwargs)
        self.output_size = roi_sampling._pair(output_size, "output_size")

    def call(self, inputs):
        features, boxes = inputs
        features = keras.ops.cast(features, self.compute_dtype)
        return roi_pooling.roi_pool(features, boxes, self.output_size)

    def compute_output_shape(self, input_shape):
        features_shape, boxes_shape = input_shape
        return (features_shape[0], boxes_shape[1], *self.output_size, features_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"output_size": self.output_size})
        return config
