"""Mask R-CNN's keypoint loss per image, targets built in the graph, as a Keras layer."""

import keras
import tensorflow as tf

from kzoo.losses.keypoint import keypoint_heatmap_loss, keypoint_heatmap_targets
from kzoo.losses.reduction import per_sample_sum
from kzoo.ops.instance_targets import gather_matched


@keras.saving.register_keras_serializable(package="kzoo")
class RoIKeypointLosses(keras.layers.Layer):
    """Softmax cross-entropy over each joint's heatmap cells, for the visible joints of positive RoIs.

    A positive RoI's targets are its matched object's joints: each visible
    joint inside the RoI is the one cell of its heatmap that holds it
    (``kzoo.losses.keypoint_heatmap_targets``). Each image's loss is the mean
    over its visible target joints; an image without any has loss exactly 0.

    Call arguments:
        inputs: ``[heatmap_logits [N, P, s, s, J], rois [N, P, 4], labels int
        [N, P], matches int [N, P], gt_keypoints [N, M, J, 3]]``, keypoints
        as normalized ``(y, x, visible)``.

    Returns:
        [N] per-image keypoint losses.

    Reference:
        He et al., "Mask R-CNN", ICCV 2017 (section 5).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def call(self, inputs):
        heatmaps, rois, labels, matches, gt_keypoints = inputs
        heatmaps = tf.cast(heatmaps, tf.float32)
        keypoints = gather_matched(tf.cast(gt_keypoints, tf.float32), matches)
        indices, visible = keypoint_heatmap_targets(keypoints, tf.stop_gradient(rois), heatmaps.shape[2:4])
        visible = visible * tf.cast(tf.cast(labels, tf.int32) >= 0, tf.float32)[..., None]
        per_joint = keypoint_heatmap_loss(indices, heatmaps, visibility=visible, reduction="none")
        return tf.math.divide_no_nan(per_sample_sum(per_joint), tf.reduce_sum(visible, axis=[1, 2]))

    def compute_output_spec(self, inputs):
        return keras.KerasTensor((inputs[0].shape[0],), dtype="float32")
