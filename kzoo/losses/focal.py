"""Focal loss (RetinaNet): cross-entropy scaled by ``(1 - p_t) ** gamma``.

Targets come in two forms, told apart by rank:

- integer labels, one rank below the logits. Sigmoid focal uses the box
  matcher's convention: a class id ``>= 0`` marks a positive anchor, ``-1``
  background, ``-2`` (or less) ignored. Softmax focal takes an index into the
  logits' last axis (class 0 is background in kzoo's softmax heads); any
  negative label is ignored.
- dense targets, the shape of the logits (one-hot or soft). A negative entry
  marks what is ignored: that element for sigmoid, the whole row for softmax.
"""

import keras
import tensorflow as tf

from kzoo.losses import reduction as red


def _sigmoid_focal_terms(y_true, logits, alpha, gamma):
    """Per-element losses (ignored elements zero), valid mask and positive anchors."""
    logits = tf.convert_to_tensor(logits)
    dtype = logits.dtype
    y_true = tf.convert_to_tensor(y_true)
    if y_true.shape.rank == logits.shape.rank - 1:
        labels = red.labels_from_float(y_true)
        targets = tf.one_hot(tf.maximum(labels, -1), tf.shape(logits)[-1], dtype=dtype)
        valid = tf.broadcast_to(tf.cast(labels >= -1, dtype)[..., None], tf.shape(logits))
        positive = labels >= 0
    else:
        y_true = tf.cast(y_true, dtype)
        valid = tf.cast(y_true >= 0.0, dtype)
        targets = tf.maximum(y_true, 0.0)
        positive = tf.reduce_max(targets, axis=-1) > 0.0
    probs = tf.sigmoid(logits)
    cross_entropy = tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits)
    p_t = probs * targets + (1.0 - probs) * (1.0 - targets)
    loss = cross_entropy
    # pow(0, 0) has a NaN gradient, and gamma = 0 is plain cross-entropy anyway.
    if gamma != 0:
        loss = loss * tf.pow(1.0 - p_t, gamma)
    if alpha is not None:
        loss = loss * (alpha * targets + (1.0 - alpha) * (1.0 - targets))
    return loss * valid, valid, positive


def _reduce(loss, valid, positive, reduction):
    red.check_reduction(reduction, red.FUNCTION_REDUCTIONS + ("num_positives",))
    if reduction == "num_positives":
        num_positives = tf.reduce_sum(tf.cast(positive, loss.dtype))
        return red.reduce(loss, valid, "mean", normalizer=tf.maximum(num_positives, 1.0))
    return red.reduce(loss, valid, reduction)


def sigmoid_focal_loss(y_true, logits, alpha=0.25, gamma=2.0, reduction="num_positives"):
    """Sigmoid focal loss, one binary classifier per class (RetinaNet).

    ``FL(p_t) = -alpha_t (1 - p_t) ** gamma log(p_t)`` for every anchor and
    class, where ``p_t = p`` for the target class and ``1 - p`` otherwise.

    Args:
        y_true: int labels [..., A] (class id, -1 background, -2 ignore) or
            dense targets [..., A, C] in [0, 1] with negative entries ignored.
        logits: [..., A, C] raw scores.
        alpha: weight of positives, ``1 - alpha`` of negatives; None for none.
        gamma: focusing parameter; 0 gives (alpha-balanced) cross-entropy.
        reduction: ``"num_positives"`` (sum divided by ``max(1, number of
            positive anchors)``, as RetinaNet), ``"sum"``, ``"mean"`` (over
            valid elements) or ``"none"`` (per element, ignored ones 0).

    Returns:
        A scalar, or [..., A, C] for ``"none"``.
    """
    loss, valid, positive = _sigmoid_focal_terms(y_true, logits, alpha, gamma)
    return _reduce(loss, valid, positive, reduction)


def _softmax_focal_terms(y_true, logits, alpha, gamma):
    """Per-row losses (ignored rows zero), valid rows and positive (non-background) rows."""
    logits = tf.convert_to_tensor(logits)
    dtype = logits.dtype
    y_true = tf.convert_to_tensor(y_true)
    num_classes = tf.shape(logits)[-1]
    if y_true.shape.rank == logits.shape.rank - 1:
        labels = red.labels_from_float(y_true)
        valid = tf.cast(labels >= 0, dtype)
        targets = tf.one_hot(labels, num_classes, dtype=dtype)
        positive = labels > 0
    else:
        y_true = tf.cast(y_true, dtype)
        valid = tf.cast(tf.reduce_min(y_true, axis=-1) >= 0.0, dtype)
        targets = tf.maximum(y_true, 0.0) * valid[..., None]
        positive = tf.reduce_sum(targets[..., 1:], axis=-1) > 0.0
    log_probs = tf.nn.log_softmax(logits, axis=-1)
    loss = -targets * log_probs
    if gamma != 0:
        loss = loss * tf.pow(1.0 - tf.exp(log_probs), gamma)
    if alpha is not None:
        loss = loss * tf.cast(alpha, dtype)
    return tf.reduce_sum(loss, axis=-1) * valid, valid, positive


def softmax_focal_loss(y_true, logits, alpha=None, gamma=2.0, reduction="mean"):
    """Softmax focal loss over mutually exclusive classes.

    ``FL = -sum_c alpha_c y_c (1 - p_c) ** gamma log(p_c)`` per row.

    Args:
        y_true: int labels [...] indexing the last axis of ``logits``
            (negative: ignored) or dense targets [..., C] (a row with a
            negative entry is ignored).
        logits: [..., C] raw scores.
        alpha: None, a scalar, or a list of C per-class weights.
        gamma: focusing parameter; 0 gives cross-entropy.
        reduction: ``"mean"`` (over valid rows), ``"sum"``, ``"num_positives"``
            (rows whose target is not class 0, at least 1) or ``"none"``
            (per row, ignored rows 0).

    Returns:
        A scalar, or [...] for ``"none"``.
    """
    loss, valid, positive = _softmax_focal_terms(y_true, logits, alpha, gamma)
    return _reduce(loss, valid, positive, reduction)


@keras.saving.register_keras_serializable(package="kzoo")
class FocalLoss(keras.losses.Loss):
    """Focal loss for dense detection and segmentation heads.

    With ``activation="sigmoid"`` this is RetinaNet's classification loss: the
    sum over anchors and classes divided by the number of positive anchors
    (at least 1). The number of positives is counted over the global batch
    (summed across ``tf.distribute`` replicas), so training on several
    replicas gives the same loss and gradients as one device; see
    ``kzoo.losses.reduction``.

    Args:
        alpha: weight of positives (sigmoid); None, a scalar or a per-class
            list (softmax).
        gamma: focusing parameter.
        activation: ``"sigmoid"`` (independent classes, labels in the box
            matcher convention) or ``"softmax"`` (exclusive classes, class 0
            background, negative labels ignored).
        normalize_by: ``"positives"`` (positive anchors, at least 1) or
            ``"valid"`` (non-ignored elements for sigmoid, rows for softmax:
            a mean, as ``keras.losses.BinaryFocalCrossentropy``).
        reduction: Keras reduction; keep ``"sum_over_batch_size"`` for the
            normalization above.
        name: loss name.
        dtype: computation dtype.

    Call arguments:
        y_true: int labels [N, ...] one rank below ``y_pred``, or dense
            targets shaped like ``y_pred`` (negative entries ignored).
        y_pred: logits [N, ..., C].

    Returns:
        The normalized focal loss (per-sample contributions with
        ``reduction="none"``).

    Example:
        >>> loss = FocalLoss(alpha=0.25, gamma=2.0)
        >>> labels = [[0, -1, -2]]                    # class 0, background, ignored
        >>> value = loss(labels, tf.zeros([1, 3, 4]))

    Reference:
        Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.
    """

    def __init__(
        self,
        alpha=0.25,
        gamma=2.0,
        activation="sigmoid",
        normalize_by="positives",
        reduction="sum_over_batch_size",
        name="focal_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if activation not in ("sigmoid", "softmax"):
            raise ValueError(f"activation must be 'sigmoid' or 'softmax', got {activation!r}")
        if normalize_by not in ("positives", "valid"):
            raise ValueError(f"normalize_by must be 'positives' or 'valid', got {normalize_by!r}")
        self.alpha = list(alpha) if isinstance(alpha, (list, tuple)) else alpha
        self.gamma = gamma
        self.activation = activation
        self.normalize_by = normalize_by

    def call(self, y_true, y_pred):
        y_true, y_pred = tf.convert_to_tensor(y_true), tf.convert_to_tensor(y_pred)
        terms = _sigmoid_focal_terms if self.activation == "sigmoid" else _softmax_focal_terms
        loss, valid, positive = terms(y_true, y_pred, self.alpha, self.gamma)
        if self.normalize_by == "positives":
            normalizer, minimum = tf.reduce_sum(tf.cast(positive, loss.dtype)), 1.0
        else:
            normalizer, minimum = tf.reduce_sum(valid), 0.0
        return red.spread_over_batch(red.per_sample_sum(loss), normalizer, minimum)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "alpha": self.alpha,
                "gamma": self.gamma,
                "activation": self.activation,
                "normalize_by": self.normalize_by,
            }
        )
        return config
