"""RoIAlign on a feature pyramid, each box on the level that suits its size (FPN)."""

import keras
import tensorflow as tf

from kzoo.ops import roi_sampling


@keras.saving.register_keras_serializable(package="kzoo")
class MultiLevelRoIAlign(keras.layers.Layer):
    """RoIAlign of every box on its FPN level ``k = floor(k0 + log2(sqrt(w h) / 224))``.

    ``w`` and ``h`` are the box size in image pixels, ``k0 = 4``, and ``k`` is
    clamped to ``[min_level, max_level]``: a 224-pixel box (ImageNet's size)
    reads ``P4``, one twice as large ``P5``, one half as large ``P3``. Every
    box is then sampled exactly as :class:`RoIAlign` samples it, on its
    level's map (normalized boxes, so each map is its own pixel scale). All
    levels are flattened into one table and read by one gather, so the cost is
    that of a single RoIAlign whatever the number of levels.

    Args:
        output_size: int or pair ``(Ph, Pw)`` (default 7).
        sampling_ratio: bilinear samples per bin along each axis, >= 1.
        aligned: half-cell alignment, as in :class:`RoIAlign`.
        min_level, max_level: pyramid levels used (``P{k}`` has stride ``2**k``).
        canonical_size, canonical_level: FPN's ``224`` and ``k0 = 4``.
        image_size: optional ``(height, width)`` of the input image in pixels;
            by default the finest level's size times its stride.
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``).

    Call arguments:
        inputs: ``[features, boxes]`` where ``features`` is a dict with keys
            ``"P{min_level}"`` ... ``"P{max_level}"`` (as ``kzoo.backbones``
            and ``FeaturePyramid`` return; other keys are ignored) or a list
            of maps from ``min_level`` up; or the flat list
            ``[P_min, ..., P_max, boxes]``. ``boxes`` is ``[N, R, 4]``
            normalized. All maps have the same channel count.

    Returns:
        ``[N, R, Ph, Pw, C]``.

    Example:
    >>> pyramid = {f"P{k}": np.random.rand(1, 256 // 2**k, 256 // 2**k, 32)
    ...            .astype("float32") for k in range(2, 6)}
    >>> boxes = np.array([[[0.1, 0.1, 0.3, 0.2], [0.0, 0.0, 1.0, 1.0]]], "float32")
    >>> MultiLevelRoIAlign(7)([pyramid, boxes]).shape
    (1, 2, 7, 7, 32)

    Reference:
        Lin et al., "Feature Pyramid Networks for Object Detection", CVPR 2017
        (equation 1); He et al., "Mask R-CNN", ICCV 2017.
    """

    def __init__(
        self,
        output_size=7,
        sampling_ratio=2,
        aligned=True,
        min_level=2,
        max_level=5,
        canonical_size=224,
        canonical_level=4,
        image_size=None,
        **kwargs,
    ):
        # Maps are cast to the compute dtype in call; boxes keep float32 precision
        # under mixed precision instead of being autocast to float16.
        kwargs.pop("autocast", None)
        super().__init__(autocast=False, **kwargs)
        if not 0 <= int(min_level) <= int(max_level):
            raise ValueError(f"need 0 <= min_level <= max_level, got {min_level}, {max_level}")
        self.output_size = roi_sampling._pair(output_size, "output_size")
        self.sampling_ratio = roi_sampling._check_sampling(sampling_ratio)
        self.aligned = bool(aligned)
        self.min_level = int(min_level)
        self.max_level = int(max_level)
        self.canonical_size = float(canonical_size)
        self.canonical_level = int(canonical_level)
        self.image_size = None if image_size is None else roi_sampling._pair(image_size, "image_size")

    def _split(self, inputs):
        """``(maps, boxes)`` from any accepted input structure (tensors or shapes)."""
        count = self.max_level - self.min_level + 1
        inputs = list(inputs)
        if len(inputs) == 2 and isinstance(inputs[0], dict):
            features = [inputs[0][f"P{k}"] for k in range(self.min_level, self.max_level + 1)]
            return features, inputs[1]
        # A nested list of maps, told apart from a single map's shape tuple.
        nested = isinstance(inputs[0], (list, tuple)) and not all(
            d is None or isinstance(d, int) for d in inputs[0]
        )
        if len(inputs) == 2 and nested:
            features, boxes = list(inputs[0]), inputs[1]
        else:
            features, boxes = inputs[:-1], inputs[-1]
        if len(features) != count:
            raise ValueError(
                f"expected {count} maps for levels {self.min_level}..{self.max_level}, got {len(features)}"
            )
        return features, boxes

    def call(self, inputs):
        features, boxes = self._split(inputs)
        features = [keras.ops.cast(f, self.compute_dtype) for f in features]
        if self.image_size is not None:
            image_size = self.image_size
        else:
            finest = tf.shape(features[0])
            image_size = (finest[1] * 2**self.min_level, finest[2] * 2**self.min_level)
        levels = roi_sampling.fpn_level(
            boxes, image_size, self.min_level, self.max_level, self.canonical_size, self.canonical_level
        )
        return roi_sampling.multi_level_roi_align(
            features, boxes, levels - self.min_level, self.output_size, self.sampling_ratio, self.aligned
        )

    def compute_output_shape(self, input_shape):
        features_shape, boxes_shape = self._split(input_shape)
        return (features_shape[0][0], boxes_shape[1], *self.output_size, features_shape[0][-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "output_size": self.output_size,
                "sampling_ratio": self.sampling_ratio,
                "aligned": self.aligned,
                "min_level": self.min_level,
                "max_level": self.max_level,
                "canonical_size": self.canonical_size,
                "canonical_level": self.canonical_level,
                "image_size": self.image_size,
            }
        )
        return config
