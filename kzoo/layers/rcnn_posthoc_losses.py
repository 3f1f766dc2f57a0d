"""R-CNN's second training stage: SVM hinge loss with hard negatives, and least-squares box regression."""

import keras
import tensorflow as tf

from kzoo.losses.svm import box_least_squares_loss, svm_hinge_loss
from kzoo.ops import boxes as box_ops


@keras.saving.register_keras_serializable(package="kzoo")
class RCNNPostHocLosses(keras.layers.Layer):
    """Per-image losses of R-CNN's linear SVMs and box regressors, on sampled regions.

    The regions come from ``RoISampler`` with box-regression thresholds
    (IoU >= 0.6 positive, < 0.3 background). The box regressors learn from
    every positive; the SVMs take as positives only the regions that are
    (almost) ground-truth boxes, IoU >= ``svm_positive_iou`` with their
    box (the paper's positives are the ground truth itself), background
    regions as negatives, and keep the hardest negatives
    (``kzoo.losses.svm_hinge_loss``).

    Args:
        svm_positive_iou: IoU with the matched box for an SVM positive.
        hard_negative_ratio, min_negatives: the hard negative mining.
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        inputs: ``[svm_scores [N, S, C], box_deltas [N, S, C, 4], labels [N, S],
        box_targets [N, S, 4], rois [N, S, 4], matches [N, S], gt_boxes [N, M, 4]]``.

    Returns:
        dict ``{"svm": [N], "box": [N]}``.
    """

    def __init__(self, svm_positive_iou=0.95, hard_negative_ratio=3.0, min_negatives=16, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.svm_positive_iou = float(svm_positive_iou)
        self.hard_negative_ratio = float(hard_negative_ratio)
        self.min_negatives = int(min_negatives)

    def call(self, inputs):
        svm_scores, box_deltas, labels, box_targets, rois, matches, gt_boxes = inputs
        matched = tf.gather(tf.cast(gt_boxes, tf.float32), tf.maximum(matches, 0), batch_dims=1)
        overlap = box_ops.elementwise_iou(rois, matched)
        positive = (labels >= 0) & (overlap >= self.svm_positive_iou)
        svm_labels = tf.where(positive, labels, tf.where(labels == -1, -1, -2))
        return {
            "svm": svm_hinge_loss(svm_scores, svm_labels, self.hard_negative_ratio, self.min_negatives),
            "box": box_least_squares_loss(box_deltas, labels, box_targets),
        }

    def compute_output_spec(self, inputs):
        batch = inputs[0].shape[0]
        return {name: keras.KerasTensor((batch,), dtype="float32") for name in ("svm", "box")}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "svm_positive_iou": self.svm_positive_iou,
                "hard_negative_ratio": self.hard_negative_ratio,
                "min_negatives": self.min_negatives,
            }
        )
        return config
