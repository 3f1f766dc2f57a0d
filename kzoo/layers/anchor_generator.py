"""Anchor boxes of a feature pyramid, as a Keras layer."""

import keras
import tensorflow as tf

from kzoo.ops import anchors as anchor_ops

_RETINANET_SCALES = (1.0, 2.0 ** (1.0 / 3.0), 2.0 ** (2.0 / 3.0))


@keras.saving.register_keras_serializable(package="kzoo")
class AnchorGenerator(keras.layers.Layer):
    """Anchors on every level of a feature pyramid, for the batch's image size.

    Level ``l`` (stride ``strides[l]``) has a ``ceil(H / stride) x
    ceil(W / stride)`` grid with cell centres at ``(i + offset) * stride``
    pixels and, at each cell, ``len(scales) * len(aspect_ratios)`` anchors of
    base size ``sizes[l]`` pixels (scales vary slowest, width / height ratios
    fastest). Levels are concatenated from the finest to the coarsest, each in
    (row, column, anchor) order: the order in which heads' ``[N, H, W, B * k]``
    outputs reshape to ``[N, H * W * B, k]`` and concatenate.

    The defaults are RetinaNet's (P3-P7, size 4 x stride, 3 scales, 3 ratios);
    Faster R-CNN's single-level RPN is ``strides=(16,), sizes=(128,),
    scales=(1, 2, 4)``. SSD's default boxes, sized relative to the image,
    are ``DefaultBoxes``; a sliding window's crops, ``SlidingWindows``.

    Args:
        strides: pixel stride of each level.
        sizes: base anchor size in pixels of each level.
        scales: size multipliers, shared by all levels.
        aspect_ratios: width / height ratios, shared by all levels.
        offset: centre offset inside a cell (0.5 = cell centre).
        clip: clip the anchors to the image.
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        images: [N, H, W, C] tensor of any dtype; only its shape is used.

    Returns:
        float32 [N, A, 4] normalized ``[ymin, xmin, ymax, xmax]`` anchors (the
        same for every image).

    Example:

    >>> images = keras.Input((256, 256, 3))
    >>> anchors = AnchorGenerator()(images)  # [N, 12276, 4]

    Reference:
        Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017;
        Ren et al., "Faster R-CNN: Towards Real-Time Object Detection with
        Region Proposal Networks", NeurIPS 2015.
    """

    def __init__(
        self,
        strides=(8, 16, 32, 64, 128),
        sizes=(32, 64, 128, 256, 512),
        scales=_RETINANET_SCALES,
        aspect_ratios=(0.5, 1.0, 2.0),
        offset=0.5,
        clip=False,
        **kwargs,
    ):
        # Box coordinates stay float32 under a mixed-precision policy.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if len(strides) != len(sizes):
            raise ValueError(f"strides and sizes need one entry per level, got {strides} and {sizes}")
        self.strides = tuple(int(s) for s in strides)
        self.sizes = tuple(float(s) for s in sizes)
        self.scales = tuple(float(s) for s in scales)
        self.aspect_ratios = tuple(float(r) for r in aspect_ratios)
        self.offset = float(offset)
        self.clip = bool(clip)

    @property
    def anchors_per_location(self):
        """B, the number of anchors at each grid cell."""
        return len(self.scales) * len(self.aspect_ratios)

    def num_anchors(self, height, width):
        """A, the number of anchors for a ``height x width`` image (Python ints)."""
        cells = sum(-(-height // s) * -(-width // s) for s in self.strides)
        return cells * self.anchors_per_location

    def call(self, images):
        shape = tf.shape(images)
        height = images.shape[1] if images.shape[1] is not None else shape[1]
        width = images.shape[2] if images.shape[2] is not None else shape[2]
        anchors = anchor_ops.pyramid_anchors(
            height, width, self.strides, self.sizes, self.scales, self.aspect_ratios, self.offset
        )
        if self.clip:
            anchors = tf.clip_by_value(anchors, 0.0, 1.0)
        return tf.broadcast_to(anchors[None], tf.concat([shape[:1], tf.shape(anchors)], 0))

    def compute_output_shape(self, input_shape):
        height, width = input_shape[1], input_shape[2]
        count = None if height is None or width is None else self.num_anchors(height, width)
        return (input_shape[0], count, 4)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "strides": list(self.strides),
                "sizes": list(self.sizes),
                "scales": list(self.scales),
                "aspect_ratios": list(self.aspect_ratios),
                "offset": self.offset,
                "clip": self.clip,
            }
        )
        return config
