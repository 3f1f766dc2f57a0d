"""Mask R-CNN's mask loss: per-pixel binary cross-entropy on the gt class's mask only.

The mask head predicts one m x m mask per class for every RoI; only the mask
of the RoI's ground-truth class is trained, so classes do not compete (the
classification head decides the class). The loss is the mean binary
cross-entropy over the pixels of positive RoIs; background and ignored RoIs
add nothing, and a batch without positive RoIs has loss exactly 0.

Targets for the Keras class are dense, shaped like the logits: the RoI's
binary mask in the channel of its class and -1 (ignored) everywhere else.
``per_class_mask_targets`` builds them from masks and labels.
"""

import keras
import tensorflow as tf

from kzoo.losses import reduction as red


def per_class_mask_targets(mask_targets, labels, num_classes):
    """Dense targets: each RoI's mask in its class channel, -1 elsewhere.

    Args:
        mask_targets: [..., R, h, w] binary (or soft) masks in [0, 1].
        labels: int [..., R] matcher labels; RoIs with a negative label get
            -1 everywhere.
        num_classes: C, the mask head's channels; 1 for a class-agnostic head
            (every positive RoI uses channel 0).

    Returns:
        [..., R, h, w, C] float32.
    """
    mask_targets = tf.cast(mask_targets, tf.float32)
    labels = red.labels_from_float(tf.convert_to_tensor(labels))
    channel = tf.where(labels >= 0, labels if num_classes > 1 else tf.zeros_like(labels), -1)
    chosen = tf.one_hot(channel, num_classes, dtype=tf.float32)[..., None, None, :]
    return chosen * mask_targets[..., None] + (chosen - 1.0)


def _mask_terms(dense_targets, mask_logits):
    """Per-element binary cross-entropy (zero where ignored) and the valid mask."""
    mask_logits = tf.convert_to_tensor(mask_logits)
    dense_targets = tf.cast(dense_targets, mask_logits.dtype)
    valid = tf.cast(dense_targets >= 0.0, mask_logits.dtype)
    targets = tf.maximum(dense_targets, 0.0)
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=mask_logits)
    return bce * valid, valid


def mask_loss(mask_targets, mask_logits, labels, reduction="mean"):
    """Mask R-CNN mask loss of a batch of RoIs.

    Args:
        mask_targets: [..., R, h, w] binary masks of each RoI's matched object,
            cropped and resized to the RoI.
        mask_logits: [..., R, h, w, C] per-class logits (C = 1: class-agnostic).
        labels: int [..., R] matcher labels (class id >= 0 for positives).
        reduction: ``"mean"`` (over the pixels of positive RoIs: the mean of
            each positive RoI's average pixel loss), ``"sum"`` or ``"none"``
            (per element, ignored ones 0).

    Returns:
        A scalar, or [..., R, h, w, C] for ``"none"``.
    """
    mask_logits = tf.convert_to_tensor(mask_logits)
    dense = per_class_mask_targets(mask_targets, labels, mask_logits.shape[-1])
    loss, valid = _mask_terms(dense, mask_logits)
    return red.reduce(loss, valid, reduction)


@keras.saving.register_keras_serializable(package="kzoo")
class MaskLoss(keras.losses.Loss):
    """Mask R-CNN per-RoI mask binary cross-entropy (gt class only).

    Sums the binary cross-entropy over trained pixels and divides by their
    number over the global batch (counted across ``tf.distribute``
    replicas): each positive RoI counts as the average of its pixels.

    Args:
        reduction: Keras reduction; keep ``"sum_over_batch_size"``.
        name: loss name.
        dtype: computation dtype.

    Call arguments:
        y_true: [N, R, h, w, C] dense targets from ``per_class_mask_targets``
            (negative entries ignored).
        y_pred: [N, R, h, w, C] mask logits.

    Returns:
        The mean mask loss over positive RoIs' pixels.

    Example:
        >>> targets = per_class_mask_targets(tf.ones([1, 2, 4, 4]), [[1, -1]], 3)
        >>> value = MaskLoss()(targets, tf.zeros([1, 2, 4, 4, 3]))

    Reference:
        He et al., "Mask R-CNN", ICCV 2017.
    """

    def __init__(self, reduction="sum_over_batch_size", name="mask_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        y_true, y_pred = tf.convert_to_tensor(y_true), tf.convert_to_tensor(y_pred)
        loss, valid = _mask_terms(y_true, y_pred)
        return red.spread_over_batch(red.per_sample_sum(loss), tf.reduce_sum(valid))
