"""Training objectives of a keypoint cascade: every stage against the same joints."""

import keras
import tensorflow as tf

from kzoo.losses import KeypointCoordinateLoss
from kzoo.metrics import PercentageOfCorrectKeypoints


def _broadcast_to_stages(y_true, y_pred):
    """[N, J, 3] targets -> [N, S, J, 3], one copy per stage of ``y_pred`` [N, S, J, 2]."""
    y_true = tf.convert_to_tensor(y_true)
    shape = tf.concat([tf.shape(y_pred)[:2], tf.shape(y_true)[1:]], axis=0)
    return tf.broadcast_to(y_true[:, None], shape)


@keras.saving.register_keras_serializable(package="kzoo")
class CascadeKeypointLoss(KeypointCoordinateLoss):
    """DeepPose's visibility-weighted coordinate loss, applied to every cascade stage.

    Each stage's estimate is compared with the same true joints; the loss
    is the sum of per-joint distances over stages and visible joints,
    divided by their count over the global batch, i.e. the mean of the
    stages' ``KeypointCoordinateLoss``. Hidden joints (``visible = 0``) add
    nothing; a batch without visible joints gives exactly 0.

    Args:
        norm: ``"l2"`` (squared distance, the paper's) or ``"l1"``.
        reduction: Keras reduction; keep ``"sum_over_batch_size"``.
        name: loss name.
        dtype: computation dtype.

    Call arguments:
        y_true: [N, J, 3] ``(y, x, visible)``, normalized.
        y_pred: [N, S, J, 2] each stage's ``(y, x)``.

    Returns:
        The mean distance over stages and visible joints.

    Example:
        >>> loss = CascadeKeypointLoss()
        >>> true = [[[0.5, 0.5, 1.0], [0.2, 0.2, 0.0]]]
        >>> value = loss(true, [[[[0.4, 0.5], [0.9, 0.9]], [[0.5, 0.5], [0.0, 0.0]]]])  # (0.01 + 0) / 2

    Reference:
        Toshev and Szegedy, "DeepPose: Human Pose Estimation via Deep Neural
        Networks", CVPR 2014.
    """

    def __init__(self, norm="l2", reduction="sum_over_batch_size", name="cascade_keypoint_loss", dtype=None):
        super().__init__(norm=norm, reduction=reduction, name=name, dtype=dtype)

    def call(self, y_true, y_pred):
        y_pred = tf.convert_to_tensor(y_pred)
        return super().call(_broadcast_to_stages(y_true, y_pred), y_pred)


@keras.saving.register_keras_serializable(package="kzoo")
class FinalStagePCK(PercentageOfCorrectKeypoints):
    """PCK@alpha of the last stage of a keypoint cascade.

    Args:
        alpha: the fraction of the figure size a joint may be off.
        name: metric name.
        dtype: result dtype.

    Call arguments (``update_state``):
        y_true: [N, J, 3] true (y, x, visible).
        y_pred: [N, S, J, 2] each stage's (y, x); only stage ``S - 1`` is scored.
        sample_weight: optional [N] weights.

    Returns:
        The fraction of labeled joints the last stage puts within the threshold.

    Example:
        >>> m = FinalStagePCK(alpha=0.2)
        >>> m.update_state([[[0, 0, 2], [0, 10, 2]]], [[[[5, 5], [5, 5]], [[1, 0], [0, 13]]]])
        >>> float(m.result())
        0.5

    Reference:
        Yang and Ramanan, "Articulated Human Detection with Flexible
        Mixtures of Parts", TPAMI 2013.
    """

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(y_true, tf.convert_to_tensor(y_pred)[:, -1], sample_weight)
