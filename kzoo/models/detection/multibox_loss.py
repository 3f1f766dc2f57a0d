"""SSD's classification loss: softmax cross-entropy with hard negative mining.

Most anchors (or sliding windows) are background. Rather than weighing every
one of them, SSD keeps, in each image, all positives and only the negatives
with the highest loss, at most ``negative_ratio`` negatives per positive
(3:1 in the paper). The sum is divided by the number of positives, and is 0
when there are none ("if N = 0, we set the loss to 0"). The sliding-window
detector trains its crop classifier the same way (bootstrapping hard
negatives, as detectors of that era did).

Labels: 0 background, ``c + 1`` object class ``c``, negative ignored.
"""

import math

import keras
import tensorflow as tf

from kzoo.losses import reduction as red


def hard_negative_mask(negative_losses, negative, num_positives, negative_ratio):
    """Which negatives to keep: the ``ratio * positives`` hardest of each image.

    Args:
        negative_losses: float [N, A] per-anchor losses (any values where not negative).
        negative: bool [N, A], the background anchors.
        num_positives: [N] positives per image.
        negative_ratio: negatives kept per positive.

    Returns:
        bool [N, A].
    """
    scores = tf.where(negative, negative_losses, tf.cast(-math.inf, negative_losses.dtype))
    # The rank of each anchor among its image's negatives, hardest first (ties keep anchor order).
    order = tf.argsort(scores, axis=-1, direction="DESCENDING", stable=True)
    rank = tf.argsort(order, axis=-1, stable=True)
    limit = tf.cast(tf.math.ceil(negative_ratio * tf.cast(num_positives, tf.float32)), tf.int32)
    return negative & (rank < limit[:, None])


def _terms(labels, logits, negative_ratio):
    """Per-anchor kept losses [N, A] and per-image positive counts [N]."""
    labels = red.labels_from_float(tf.convert_to_tensor(labels))
    logits = tf.convert_to_tensor(logits)
    cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.maximum(labels, 0), logits=logits)
    positive = labels > 0
    negative = tf.equal(labels, 0)
    num_positives = tf.reduce_sum(tf.cast(positive, tf.int32), axis=-1)
    mined = hard_negative_mask(tf.stop_gradient(cross_entropy), negative, num_positives, negative_ratio)
    kept = tf.where(positive | mined, cross_entropy, tf.zeros_like(cross_entropy))
    return kept, num_positives


def hard_negative_softmax_loss(labels, logits, negative_ratio=3.0, reduction="mean"):
    """Softmax cross-entropy over positives and the hardest negatives.

    Args:
        labels: int [N, A]: 0 background, ``c + 1`` class ``c``, negative ignored.
        logits: [N, A, C + 1], background first.
        negative_ratio: negatives kept per positive, per image.
        reduction: ``"mean"`` (divided by the number of positives; 0 without
            any), ``"sum"`` or ``"none"`` ([N, A], unkept anchors 0).

    Returns:
        A scalar, or [N, A] for ``"none"``.
    """
    kept, num_positives = _terms(labels, logits, negative_ratio)
    return red.reduce(kept, None, reduction, normalizer=tf.reduce_sum(num_positives))


@keras.saving.register_keras_serializable(package="kzoo")
class HardNegativeSoftmaxLoss(keras.losses.Loss):
    """SSD's multibox classification loss (softmax, hard negative mining).

    For each image, the cross-entropy of every positive anchor and of the
    ``negative_ratio`` x as many highest-loss background anchors, summed and
    divided by the number of positives in the global batch (counted across
    ``tf.distribute`` replicas, see ``kzoo.losses.reduction``); 0 when the
    batch has no positives. With ``kzoo.losses.SmoothL1Loss`` on the box
    deltas (also divided by the positives) it makes SSD's
    ``(L_conf + alpha L_loc) / N``.

    Args:
        negative_ratio: background anchors kept per positive (3 in SSD).
        reduction: Keras reduction; keep ``"sum_over_batch_size"``.
        name: loss name.
        dtype: computation dtype.

    Call arguments:
        y_true: int labels [N, A]: 0 background, ``c + 1`` class ``c``,
            negative ignored.
        y_pred: logits [N, A, C + 1], background first.

    Returns:
        The normalized loss.

    Example:
        >>> loss = HardNegativeSoftmaxLoss(negative_ratio=3.0)
        >>> value = loss([[2, 0, 0, -1]], tf.zeros([1, 4, 3]))

    Reference:
        Liu et al., "SSD: Single Shot MultiBox Detector", ECCV 2016
        (section 2.2, "Hard negative mining").
    """

    def __init__(
        self, negative_ratio=3.0, reduction="sum_over_batch_size", name="hard_negative_softmax_loss", dtype=None
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.negative_ratio = float(negative_ratio)

    def call(self, y_true, y_pred):
        kept, num_positives = _terms(y_true, y_pred, self.negative_ratio)
        return red.spread_over_batch(red.per_sample_sum(kept), tf.reduce_sum(num_positives))

    def get_config(self):
        config = super().get_config()
        config.update({"negative_ratio": self.negative_ratio})
        return config
