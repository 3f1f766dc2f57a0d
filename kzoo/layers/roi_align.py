"""Mask R-CNN's RoIAlign as a Keras layer."""

import keras

from kzoo.ops import roi_sampling


@keras.saving.register_keras_serializable(package="kzoo")
class RoIAlign(keras.layers.Layer):
    """Crop a fixed ``Ph x Pw`` feature grid for every box by bilinear sampling.

    Each bin averages ``sampling_ratio x sampling_ratio`` bilinear samples
    taken at the centers of an even grid inside the bin, with no rounding of
    box or bin edges (the fix Mask R-CNN made to RoI pooling). Boxes are
    normalized to the image, so the feature map's own size is the pixel
    scale: a box ``[y0, x0, y1, x1]`` covers ``[y0 * H, y1 * H] x
    [x0 * W, x1 * W]`` of an ``H x W`` map, exact when the image size is a
    multiple of the map's stride. With ``aligned=True`` (default) sample
    coordinates are shifted by half a cell so that a cell's value sits at its
    center, Detectron2's half-pixel correction; ``aligned=False`` reproduces
    the original Mask R-CNN sampling (also forcing boxes to at least one cell).
    Samples more than a cell outside the map read zero, samples within a cell
    of the border read the border, so boxes outside the image give zeros or
    border values, never NaN.

    Built on gathers from the flattened map: no per-box loop, TFLite builtin
    ops only. Same numbers as ``tf.image.crop_and_resize`` to a
    ``(Ph * s) x (Pw * s)`` grid followed by ``s x s`` average pooling once the
    box is converted to crop_and_resize's corner-aligned convention.

    Args:
        output_size: int or pair ``(Ph, Pw)``.
        sampling_ratio: samples per bin along each axis, >= 1 (default 2).
        aligned: half-cell alignment (default ``True``).
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``).

    Call arguments:
        inputs: list ``[features, boxes]``: ``features`` ``[N, H, W, C]`` and
            ``boxes`` ``[N, R, 4]`` normalized ``[ymin, xmin, ymax, xmax]``.

    Returns:
        ``[N, R, Ph, Pw, C]``.

    Example:
    >>> features = np.random.rand(2, 32, 32, 64).astype("float32")
    >>> boxes = np.array([[[0.1, 0.1, 0.6, 0.5]] * 8] * 2, "float32")
    >>> RoIAlign(7)([features, boxes]).shape
    (2, 8, 7, 7, 64)

    Reference:
        He, Gkioxari, Dollar and Girshick, "Mask R-CNN", ICCV 2017; Wu et al.,
        Detectron2 (2019) for ``aligned=True``.
    """

    def __init__(self, output_size=7, sampling_ratio=2, aligned=True, **kwargs):
        # Maps are cast to the compute dtype in call; boxes keep float32 precision
        # under mixed precision instead of being autocast to float16.
        kwargs.pop("autocast", None)
        super().__init__(autocast=False, **kwargs)
        self.output_size = roi_sampling._pair(output_size, "output_size")
        self.sampling_ratio = roi_sampling._check_sampling(sampling_ratio)
        self.aligned = bool(aligned)

    def call(self, inputs):
        features, boxes = inputs
        features = keras.ops.cast(features, self.compute_dtype)
        return roi_sampling.roi_align(features, boxes, self.output_size, self.sampling_ratio, self.aligned)

    def compute_output_shape(self, input_shape):
        features_shape, boxes_shape = input_shape
        return (features_shape[0], boxes_shape[1], *self.output_size, features_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "output_size": self.output_size,
                "sampling_ratio": self.sampling_ratio,
                "aligned": self.aligned,
            }
        )
        return config
