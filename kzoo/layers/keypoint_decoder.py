"""Mask R-CNN's test-time keypoints: the best cell of each joint's heatmap, in image coordinates."""

import keras
import tensorflow as tf

from kzoo.ops import boxes as box_ops


@keras.saving.register_keras_serializable(package="kzoo")
class KeypointDecoder(keras.layers.Layer):
    """Turn per-RoI keypoint heatmaps into keypoints and their scores.

    Each joint's ``s x s`` heatmap is read as a softmax over its cells (as it
    was trained): the joint is at the centre of the most probable cell,
    mapped from the box into normalized image coordinates, and its score is
    that cell's probability. Padding rows (all-zero boxes) get zeros.

    Call arguments:
        inputs: ``[heatmap_logits [N, K, s, s, J], boxes [N, K, 4]]``
            (the detections' normalized boxes).

    Returns:
        dict of ``detection_keypoints`` float32 [N, K, J, 2] normalized
        ``(y, x)`` and ``detection_keypoint_scores`` float32 [N, K, J] in [0, 1].

    Reference:
        He et al., "Mask R-CNN", ICCV 2017 (section 5, human pose estimation).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def call(self, inputs):
        heatmaps, boxes = inputs
        heatmaps = tf.cast(heatmaps, tf.float32)
        boxes = tf.cast(boxes, tf.float32)
        height, width, joints = heatmaps.shape[2], heatmaps.shape[3], heatmaps.shape[4]
        rois = heatmaps.shape[1]
        # [N, K, s, s, J] -> [N, K, J, s * s]: one softmax per joint.
        flat = tf.transpose(tf.reshape(heatmaps, [-1, rois, height * width, joints]), [0, 1, 3, 2])
        probabilities = tf.nn.softmax(flat, axis=-1)
        cell = tf.argmax(flat, axis=-1, output_type=tf.int32)
        row = tf.cast(cell // width, tf.float32)
        col = tf.cast(cell - (cell // width) * width, tf.float32)
        ymin, xmin, ymax, xmax = (boxes[..., i : i + 1] for i in range(4))
        y = ymin + (row + 0.5) / height * (ymax - ymin)
        x = xmin + (col + 0.5) / width * (xmax - xmin)
        real = tf.cast(box_ops.area(boxes) > 0.0, tf.float32)[..., None]
        return {
            "detection_keypoints": tf.stack([y, x], axis=-1) * real[..., None],
            "detection_keypoint_scores": tf.reduce_max(probabilities, axis=-1) * real,
        }

    def compute_output_spec(self, inputs):
        batch, rois, joints = inputs[0].shape[0], inputs[0].shape[1], inputs[0].shape[4]
        return {
            "detection_keypoints": keras.KerasTensor((batch, rois, joints, 2), dtype="float32"),
            "detection_keypoint_scores": keras.KerasTensor((batch, rois, joints), dtype="float32"),
        }
