"""Fast R-CNN's multi-task loss per image, as a Keras layer for training graphs."""

import keras
import tensorflow as tf

from kzoo.losses.detection import fast_rcnn_loss


@keras.saving.register_keras_serializable(package="kzoo")
class RoIHeadLosses(keras.layers.Layer):
    """Classification and box losses of the sampled RoIs, per image.

    Softmax cross-entropy over C + 1 classes for every sampled RoI and
    smooth-L1 of the positives' deltas of their own class, each divided by
    the image's number of sampled RoIs (``kzoo.losses.fast_rcnn_loss``). A
    sample without positives has a box loss of exactly 0.

    Args:
        smooth_l1_beta: smooth-L1 transition point (1 in Fast R-CNN).
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        inputs: ``[class_logits [N, S, C + 1], box_deltas [N, S, C, 4] or
        [N, S, 1, 4], labels int [N, S], box_targets [N, S, 4]]`` with
        ``RoISampler``'s labels (-2: not in the loss).

    Returns:
        dict ``{"class": [N], "box": [N]}`` of per-image losses.

    Reference:
        Girshick, "Fast R-CNN", ICCV 2015 (equation 1).
    """

    def __init__(self, smooth_l1_beta=1.0, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.smooth_l1_beta = float(smooth_l1_beta)

    def call(self, inputs):
        class_logits, box_deltas, labels, box_targets = inputs
        box_deltas = tf.cast(box_deltas, tf.float32)
        if box_deltas.shape[-2] == 1:
            box_deltas = box_deltas[..., 0, :]
        losses = fast_rcnn_loss(
            labels, tf.cast(class_logits, tf.float32), box_targets, box_deltas,
            smooth_l1_beta=self.smooth_l1_beta, reduction="per_example",
        )
        return {"class": losses["classification"], "box": losses["box_regression"]}

    def compute_output_spec(self, inputs):
        batch = inputs[0].shape[0]
        return {name: keras.KerasTensor((batch,), dtype="float32") for name in ("class", "box")}

    def get_config(self):
        return {**super().get_config(), "smooth_l1_beta": self.smooth_l1_beta}
