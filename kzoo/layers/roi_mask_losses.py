"""Mask R-CNN's mask loss per image, targets built in the graph, as a Keras layer."""

import keras
import tensorflow as tf

from kzoo.losses.mask import mask_loss
from kzoo.losses.reduction import per_sample_sum
from kzoo.ops.instance_targets import mask_targets


@keras.saving.register_keras_serializable(package="kzoo")
class RoIMaskLosses(keras.layers.Layer):
    """Binary cross-entropy of the positive RoIs' masks, on their ground-truth class only.

    The target of a positive RoI is its matched object's mask cropped to the
    RoI and resampled to the head's grid (``kzoo.ops.instance_targets``);
    only the mask channel of that object's class is trained, so classes do
    not compete. Each image's loss is the mean over its positives' pixels;
    an image without positives has loss exactly 0.

    Call arguments:
        inputs: ``[mask_logits [N, P, m, m, C], rois [N, P, 4], labels int
        [N, P], matches int [N, P], gt_masks [N, M, H, W]]`` with
        ``RoISampler``'s labels and matches (a class id and a ground-truth
        row for positives).

    Returns:
        [N] per-image mask losses.

    Reference:
        He et al., "Mask R-CNN", ICCV 2017 (section 3, ``L_mask``).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def call(self, inputs):
        mask_logits, rois, labels, matches, gt_masks = inputs
        mask_logits = tf.cast(mask_logits, tf.float32)
        labels = tf.cast(labels, tf.int32)
        targets = mask_targets(gt_masks, tf.stop_gradient(rois), matches, mask_logits.shape[2:4])
        per_pixel = mask_loss(targets, mask_logits, labels, reduction="none")
        pixels = mask_logits.shape[2] * mask_logits.shape[3]
        positives = tf.reduce_sum(tf.cast(labels >= 0, tf.float32), axis=1)
        return tf.math.divide_no_nan(per_sample_sum(per_pixel), positives * float(pixels))

    def compute_output_spec(self, inputs):
        return keras.KerasTensor((inputs[0].shape[0],), dtype="float32")
