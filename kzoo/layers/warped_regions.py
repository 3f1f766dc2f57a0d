"""R-CNN's region warping: each proposal, with some context, resampled to a fixed square."""

import keras
import tensorflow as tf

from kzoo.ops import boxes as box_ops
from kzoo.ops import roi_sampling


@keras.saving.register_keras_serializable(package="kzoo")
class WarpedRegions(keras.layers.Layer):
    """Cut every proposal out of the image, with context, and warp it to ``output_size`` x ``output_size``.

    As in R-CNN, each box is first enlarged so that, once warped, it has
    ``context_fraction`` of the output side of image context on every side
    (16 pixels of 227 in the paper), then resampled anisotropically to a
    square by bilinear interpolation (RoIAlign on the image itself: gathers
    only, so it stays inside a TFLite file). Context beyond the image edge
    reads as black. The crops of all images are stacked on one batch axis,
    ready for a CNN.

    Args:
        output_size: side of the warped crops (227 in the paper).
        context_fraction: context on each side as a fraction of the output
            side (16 / 227); 0 warps the tight box.
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        inputs: ``[images [N, H, W, 3], boxes [N, P, 4]]`` normalized boxes.

    Returns:
        float [N * P, output_size, output_size, 3], image by image.

    Reference:
        Girshick, Donahue, Darrell and Malik, "Rich feature hierarchies for
        accurate object detection and semantic segmentation", CVPR 2014
        (appendix A).
    """

    def __init__(self, output_size=227, context_fraction=16.0 / 227.0, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if not 0.0 <= float(context_fraction) < 0.5:
            raise ValueError(f"context_fraction must be in [0, 0.5), got {context_fraction}")
        self.output_size = int(output_size)
        self.context_fraction = float(context_fraction)

    def call(self, inputs):
        images, boxes = inputs
        boxes = tf.cast(boxes, tf.float32)
        # The tight box fills 1 - 2 c of the output side: enlarge it by 1 / (1 - 2 c) about its centre.
        cy, cx, h, w = box_ops.centers_and_sizes(boxes)
        scale = 1.0 / (1.0 - 2.0 * self.context_fraction)
        wide = box_ops.from_centers_and_sizes(cy, cx, h * scale, w * scale)
        crops = roi_sampling.roi_align(tf.cast(images, tf.float32), wide, self.output_size, sampling_ratio=1)
        return tf.reshape(crops, [-1, self.output_size, self.output_size, crops.shape[-1] or 3])

    def compute_output_shape(self, input_shape):
        images_shape, boxes_shape = input_shape
        batch = None if images_shape[0] is None or boxes_shape[1] is None else images_shape[0] * boxes_shape[1]
        return (batch, self.output_size, self.output_size, images_shape[-1])

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size, "context_fraction": self.context_fraction}


