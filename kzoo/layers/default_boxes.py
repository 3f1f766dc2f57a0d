"""SSD default boxes of a stack of feature maps, as a Keras layer."""

import math

import keras
import tensorflow as tf

from kzoo.ops import anchors as anchor_ops


def _per_level(aspect_ratios, num_levels):
    if aspect_ratios and not isinstance(aspect_ratios[0], (list, tuple)):
        aspect_ratios = [aspect_ratios] * num_levels
    if len(aspect_ratios) != num_levels:
        raise ValueError(f"need aspect ratios for {num_levels} levels (one tuple per stride), got {aspect_ratios}")
    return tuple(tuple(float(r) for r in ratios) for ratios in aspect_ratios)


@keras.saving.register_keras_serializable(package="kzoo")
class DefaultBoxes(keras.layers.Layer):
    """SSD's default boxes on feature maps of given strides, for the batch's image size.

    Level ``k`` (stride ``strides[k]``) is a ``ceil(H / stride) x
    ceil(W / stride)`` grid (the size of a "same"-padded feature map) whose
    boxes have scale ``s_k``, spread linearly from ``min_scale`` to
    ``max_scale`` over the levels, one box per aspect ratio plus an extra
    square box of scale ``sqrt(s_k * s_{k+1})``
    (``kzoo.ops.anchors.ssd_default_boxes``). Sizes are fractions of the
    image, so the boxes depend on the image size only through the grids.
    Levels are concatenated from the finest to the coarsest, each in (row,
    column, box) order, the order of heads' reshaped outputs.

    Args:
        strides: pixel stride of each level.
        min_scale, max_scale: ``s_min`` and ``s_max`` of the paper.
        aspect_ratios: width / height ratios, one tuple for all levels or one
            tuple per level (SSD300 uses fewer ratios on some levels).
        clip: clip the boxes to the image.
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        images: [N, H, W, C] tensor of any dtype with a static H and W; only
            its shape is used.

    Returns:
        float32 [N, A, 4] normalized ``[ymin, xmin, ymax, xmax]`` boxes (the
        same for every image).

    Example:

    >>> boxes = DefaultBoxes(strides=(8, 16, 32), min_scale=0.1)(keras.Input((128, 128, 3)))
    >>> boxes.shape  # (None, 4 * (16 * 16 + 8 * 8 + 4 * 4), 4)

    Reference:
        Liu et al., "SSD: Single Shot MultiBox Detector", ECCV 2016.
    """

    def __init__(
        self,
        strides=(8, 16, 32, 64, 128),
        min_scale=0.2,
        max_scale=0.9,
        aspect_ratios=(1.0, 2.0, 0.5),
        clip=False,
        **kwargs,
    ):
        # Box coordinates stay float32 under a mixed-precision policy.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if not strides or any(int(s) < 1 for s in strides):
            raise ValueError(f"strides must be positive, got {strides}")
        self.strides = tuple(int(s) for s in strides)
        self.min_scale = float(min_scale)
        self.max_scale = float(max_scale)
        self.aspect_ratios = _per_level(aspect_ratios, len(self.strides))
        self.clip = bool(clip)

    @property
    def boxes_per_location(self):
        """Boxes at each grid cell of each level: one per ratio, plus the extra square when 1 is a ratio."""
        return [len(r) + int(any(math.isclose(x, 1.0) for x in r)) for r in self.aspect_ratios]

    def feature_shapes(self, height, width):
        """(rows, columns) of each level for a ``height x width`` image (Python ints)."""
        return [(-(-int(height) // s), -(-int(width) // s)) for s in self.strides]

    def num_boxes(self, height, width):
        """A, the number of boxes for a ``height x width`` image."""
        shapes = self.feature_shapes(height, width)
        return sum(rows * cols * count for (rows, cols), count in zip(shapes, self.boxes_per_location))

    def boxes(self, height, width):
        """float32 [A, 4]: the boxes for a ``height x width`` image, without the batch axis."""
        boxes = anchor_ops.ssd_default_boxes(
            self.feature_shapes(height, width), self.min_scale, self.max_scale, self.aspect_ratios, self.clip
        )
        return tf.ensure_shape(boxes, [self.num_boxes(height, width), 4])

    def call(self, images):
        height, width = images.shape[1], images.shape[2]
        if height is None or width is None:
            raise ValueError("DefaultBoxes needs images with a static height and width")
        boxes = self.boxes(height, width)
        return tf.broadcast_to(boxes[None], tf.concat([tf.shape(images)[:1], tf.shape(boxes)], 0))

    def compute_output_shape(self, input_shape):
        height, width = input_shape[1], input_shape[2]
        count = None if height is None or width is None else self.num_boxes(height, width)
        return (input_shape[0], count, 4)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "strides": list(self.strides),
                "min_scale": self.min_scale,
                "max_scale": self.max_scale,
                "aspect_ratios": [list(r) for r in self.aspect_ratios],
                "clip": self.clip,
            }
        )
        return config
