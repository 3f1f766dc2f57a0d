"""Box regression losses: smooth-L1 / Huber on encoded deltas, GIoU on decoded boxes.

Every loss here is per anchor (summed over the four coordinates) and takes
per-anchor ``weights``: 1 for an anchor that regresses (a positive), 0 for
background and ignored anchors, anything in between to down-weight. Anchors
with weight 0 contribute exactly 0 loss and 0 gradient, so a batch without
positives gives a box loss of exactly 0.

The Keras classes read the weights from ``y_true``: targets [..., 4] alone
(every anchor weight 1) or [..., 5] with the weight in the last channel.
"""

import keras
import tensorflow as tf

from kzoo.losses import reduction as red
from kzoo.ops import boxes as box_ops


def _weighted(per_anchor, weights, reduction):
    """Applies per-anchor weights; ``"mean"`` divides by their sum (0 when they sum to 0)."""
    if weights is None:
        weights = tf.ones_like(per_anchor)
    weights = tf.broadcast_to(tf.cast(weights, per_anchor.dtype), tf.shape(per_anchor))
    # where (not a product) so an inf/NaN in an unused anchor cannot leak into the sum.
    per_anchor = tf.where(weights != 0.0, per_anchor * weights, tf.zeros_like(per_anchor))
    return red.reduce(per_anchor, None, reduction, normalizer=tf.reduce_sum(weights))


def _smooth_l1(y_true, y_pred, beta):
    y_pred = tf.convert_to_tensor(y_pred)
    diff = tf.abs(y_pred - tf.cast(y_true, y_pred.dtype))
    if beta < 1e-5:
        return tf.reduce_sum(diff, axis=-1)
    return tf.reduce_sum(tf.where(diff < beta, 0.5 * tf.square(diff) / beta, diff - 0.5 * beta), axis=-1)


def smooth_l1_loss(y_true, y_pred, beta=1.0, weights=None, reduction="sum"):
    """Smooth-L1 loss of box deltas (Fast R-CNN): quadratic below ``beta``, linear above.

    Args:
        y_true: target deltas [..., 4].
        y_pred: predicted deltas [..., 4].
        beta: where the loss turns linear; 0 gives the L1 loss.
        weights: per-anchor weights [...] (0 ignores an anchor); None for 1.
        reduction: ``"sum"``, ``"mean"`` (divided by the sum of weights, 0
            when it is 0) or ``"none"`` (per anchor).

    Returns:
        A scalar, or [...] for ``"none"``.
    """
    return _weighted(_smooth_l1(y_true, y_pred, beta), weights, reduction)


def huber_loss(y_true, y_pred, delta=1.0, weights=None, reduction="sum"):
    """Huber loss of box deltas, ``delta * smooth_l1(beta=delta)``; arguments as ``smooth_l1_loss``."""
    if delta <= 0:
        raise ValueError(f"delta must be positive, got {delta}")
    return _weighted(delta * _smooth_l1(y_true, y_pred, delta), weights, reduction)


def generalized_iou(boxes1, boxes2):
    """Generalized IoU of matching pairs: ``IoU - |C minus (A u B)| / |C|`` with C the enclosing box.

    In [-1, 1]. Pairs whose enclosing box is empty (both boxes degenerate and
    coincident) get 0. [..., 4], [..., 4] -> [...].
    """
    boxes1 = tf.convert_to_tensor(boxes1, tf.float32)
    boxes2 = tf.convert_to_tensor(boxes2, tf.float32)
    inner = tf.concat([tf.maximum(boxes1[..., :2], boxes2[..., :2]), tf.minimum(boxes1[..., 2:], boxes2[..., 2:])], -1)
    outer = tf.concat([tf.minimum(boxes1[..., :2], boxes2[..., :2]), tf.maximum(boxes1[..., 2:], boxes2[..., 2:])], -1)
    intersection = box_ops.area(inner)
    union = box_ops.area(boxes1) + box_ops.area(boxes2) - intersection
    enclosing = box_ops.area(outer)
    iou = tf.math.divide_no_nan(intersection, union)
    return iou - tf.math.divide_no_nan(enclosing - union, enclosing)


def giou_loss(boxes_true, boxes_pred, weights=None, reduction="sum"):
    """GIoU loss ``1 - GIoU`` of decoded boxes; bounded in [0, 2] unlike smooth-L1.

    Args:
        boxes_true: target boxes [..., 4] ``[ymin, xmin, ymax, xmax]``.
        boxes_pred: predicted boxes [..., 4].
        weights: per-anchor weights [...] (0 ignores an anchor); None for 1.
        reduction: ``"sum"``, ``"mean"`` (divided by the sum of weights) or
            ``"none"`` (per anchor).

    Returns:
        A scalar, or [...] for ``"none"``.
    """
    return _weighted(1.0 - generalized_iou(boxes_true, boxes_pred), weights, reduction)


def _split_weights(y_true):
    if y_true.shape[-1] == 5:
        return y_true[..., :4], y_true[..., 4]
    return y_true, tf.ones_like(y_true[..., 0])


class _WeightedBoxLoss(keras.losses.Loss):
    """Per-anchor box loss summed and divided by the global sum of anchor weights."""

    def _per_anchor(self, targets, y_pred):
        raise NotImplementedError

    def call(self, y_true, y_pred):
        y_true, y_pred = tf.convert_to_tensor(y_true), tf.convert_to_tensor(y_pred)
        targets, weights = _split_weights(y_true)
        per_anchor = self._per_anchor(targets, y_pred)
        per_anchor = tf.where(weights != 0.0, per_anchor * weights, tf.zeros_like(per_anchor))
        return red.spread_over_batch(red.per_sample_sum(per_anchor), tf.reduce_sum(weights))


@keras.saving.register_keras_serializable(package="kzoo")
class SmoothL1Loss(_WeightedBoxLoss):
    """Smooth-L1 box regression loss with per-anchor weights.

    Sums the per-anchor losses (four coordinates each) and divides by the sum
    of anchor weights over the global batch (the number of positives when the
    weights mark positives), counted across ``tf.distribute`` replicas. No
    positives gives exactly 0.

    Args:
        beta: where the loss turns from quadratic to linear (1/9 in
            Faster R-CNN's RPN, 0.11 in RetinaNet, 0 for L1).
        reduction: Keras reduction; keep ``"sum_over_batch_size"``.
        name: loss name.
        dtype: computation dtype.

    Call arguments:
        y_true: target deltas [N, A, 4], or [N, A, 5] with the anchor weight
            last (0 for background and ignored anchors).
        y_pred: predicted deltas [N, A, 4].

    Returns:
        The normalized smooth-L1 loss.

    Example:
        >>> loss = SmoothL1Loss(beta=1.0 / 9.0)
        >>> targets = [[[0.1, 0.2, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0]]]
        >>> value = loss(targets, tf.zeros([1, 2, 4]))

    Reference:
        Girshick, "Fast R-CNN", ICCV 2015.
    """

    def __init__(self, beta=1.0, reduction="sum_over_batch_size", name="smooth_l1_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.beta = beta

    def _per_anchor(self, targets, y_pred):
        return _smooth_l1(targets, y_pred, self.beta)

    def get_config(self):
        config = super().get_config()
        config.update({"beta": self.beta})
        return config


@keras.saving.register_keras_serializable(package="kzoo")
class GIoULoss(_WeightedBoxLoss):
    """Generalized IoU loss ``1 - GIoU`` on decoded boxes, with per-anchor weights.

    Normalized like ``SmoothL1Loss``: the weighted sum over the global batch
    divided by the global sum of anchor weights.

    Args:
        reduction: Keras reduction; keep ``"sum_over_batch_size"``.
        name: loss name.
        dtype: computation dtype.

    Call arguments:
        y_true: target boxes [N, A, 4] (``[ymin, xmin, ymax, xmax]``,
            normalized), or [N, A, 5] with the anchor weight last.
        y_pred: predicted boxes [N, A, 4].

    Returns:
        The normalized GIoU loss.

    Example:
        >>> loss = GIoULoss()
        >>> value = loss([[[0.1, 0.1, 0.5, 0.5]]], [[[0.2, 0.2, 0.6, 0.6]]])

    Reference:
        Rezatofighi et al., "Generalized Intersection over Union: A Metric and
        a Loss for Bounding Box Regression", CVPR 2019.
    """

    def __init__(self, reduction="sum_over_batch_size", name="giou_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def _per_anchor(self, targets, y_pred):
        return 1.0 - generalized_iou(targets, y_pred)
