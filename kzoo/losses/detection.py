"""Two-stage detection losses: the RPN loss and the Fast R-CNN multi-task loss.

Labels follow the box matcher: a class id ``>= 0`` is a positive (an object
of that class), ``-1`` background, ``-2`` ignored (and anchors or RoIs the
sampler left out are ``-2`` too). Classification is averaged over the sampled
(non-ignored) anchors or RoIs; box regression is summed over positives only
and divided by the same count, as Fast R-CNN's ``L_cls + lambda [u >= 1]
L_loc`` averaged over RoIs (and Detectron2). A batch without positives has a
box loss of exactly 0; a batch where everything is ignored has loss 0.

Functions take the head outputs separately and return a dict
``{"classification", "box_regression", "total"}``. The Keras classes take one
packed tensor per side, so a model can train its RPN or box head with
``model.compile(loss=...)``:

- ``RPNLoss``: ``y_true`` [..., 5] = (label, 4 target deltas),
  ``y_pred`` [..., 5] = (objectness logit, 4 deltas).
- ``FastRCNNLoss``: ``y_true`` [..., 5] = (label, 4 target deltas),
  ``y_pred`` [..., C + 1 + 4] (class-agnostic deltas) or
  [..., C + 1 + 4 C] (class-specific, class by class) with the C + 1 class
  logits first, background at index 0.
"""

import keras
import tensorflow as tf

from kzoo.losses import reduction as red
from kzoo.losses.box_regression import _smooth_l1


def _rpn_terms(labels, objectness_logits, box_targets, box_deltas, beta):
    """Per-anchor classification and box losses (zero where unused) and the sampled mask."""
    labels = red.labels_from_float(tf.convert_to_tensor(labels))
    logits = tf.convert_to_tensor(objectness_logits)
    if logits.shape.rank == labels.shape.rank + 1:
        logits = tf.squeeze(logits, -1)
    sampled = tf.cast(labels >= -1, logits.dtype)
    positive = labels >= 0
    targets = tf.cast(positive, logits.dtype)
    classification = tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits) * sampled
    box = _smooth_l1(box_targets, box_deltas, beta)
    box = tf.where(positive, box, tf.zeros_like(box))
    return classification, box, sampled


def _fast_rcnn_terms(labels, class_logits, box_targets, box_deltas, beta):
    """Per-RoI softmax classification and box losses (zero where unused) and the sampled mask."""
    labels = red.labels_from_float(tf.convert_to_tensor(labels))
    class_logits = tf.convert_to_tensor(class_logits)
    box_deltas = tf.convert_to_tensor(box_deltas)
    dtype = class_logits.dtype
    sampled = labels >= -1
    positive = labels >= 0
    # Background (-1) becomes logit index 0 and class k index k + 1; ignored RoIs one-hot to zeros.
    index = tf.where(sampled, labels + 1, -1)
    targets = tf.one_hot(index, tf.shape(class_logits)[-1], dtype=dtype)
    classification = -tf.reduce_sum(targets * tf.nn.log_softmax(class_logits, axis=-1), axis=-1)
    if box_deltas.shape.rank == labels.shape.rank + 2:
        num_classes = tf.shape(box_deltas)[-2]
        chosen = tf.one_hot(tf.clip_by_value(labels, 0, num_classes - 1), num_classes, dtype=dtype)
        box_deltas = tf.reduce_sum(box_deltas * chosen[..., None], axis=-2)
    box = _smooth_l1(box_targets, box_deltas, beta)
    box = tf.where(positive, box, tf.zeros_like(box))
    return classification, box, tf.cast(sampled, dtype)


def _reduce_terms(classification, box, sampled, box_weight, reduction):
    red.check_reduction(reduction, ("mean", "sum", "per_example"))
    # "per_example" keeps the first (batch) axis: each image's sums over its own sampled count.
    axis = None if reduction != "per_example" else list(range(1, classification.shape.rank))
    classification = tf.reduce_sum(classification, axis=axis)
    box = tf.reduce_sum(box, axis=axis)
    if reduction != "sum":
        count = tf.reduce_sum(sampled, axis=axis)
        classification = tf.math.divide_no_nan(classification, count)
        box = tf.math.divide_no_nan(box, count)
    return {"classification": classification, "box_regression": box, "total": classification + box_weight * box}


def rpn_loss(
    labels, objectness_logits, box_targets, box_deltas, box_weight=1.0, smooth_l1_beta=1.0 / 9.0, reduction="mean"
):
    """Region Proposal Network loss: object / not-object plus box regression.

    Args:
        labels: int [..., A] matcher labels (>= 0 object, -1 background, -2
            ignored or not sampled).
        objectness_logits: [..., A] or [..., A, 1] logits.
        box_targets: [..., A, 4] encoded target deltas.
        box_deltas: [..., A, 4] predicted deltas.
        box_weight: weight of the box term in ``"total"`` (lambda).
        smooth_l1_beta: smooth-L1 transition point (1/9 as in Faster R-CNN).
        reduction: ``"mean"`` (divided by the number of sampled anchors),
            ``"sum"``, or ``"per_example"`` (each image of a batch [N, A]
            divided by its own sampled count: [N] values).

    Returns:
        Dict of ``classification``, ``box_regression``, ``total``: scalars,
        or [N] with ``"per_example"``.
    """
    terms = _rpn_terms(labels, objectness_logits, box_targets, box_deltas, smooth_l1_beta)
    return _reduce_terms(*terms, box_weight, reduction)


def fast_rcnn_loss(
    labels, class_logits, box_targets, box_deltas, box_weight=1.0, smooth_l1_beta=1.0, reduction="mean"
):
    """Fast R-CNN multi-task loss: softmax classification plus box regression of positives.

    Args:
        labels: int [..., R] matcher labels (class id, -1 background, -2 ignored).
        class_logits: [..., R, C + 1] logits, background at index 0.
        box_targets: [..., R, 4] encoded target deltas.
        box_deltas: [..., R, 4] class-agnostic or [..., R, C, 4]
            class-specific deltas (the gt class's deltas are used).
        box_weight: weight of the box term in ``"total"`` (lambda).
        smooth_l1_beta: smooth-L1 transition point (1 as in Fast R-CNN).
        reduction: ``"mean"`` (divided by the number of sampled RoIs), ``"sum"``,
            or ``"per_example"`` (each image of a batch [N, R] divided by its
            own sampled count: [N] values).

    Returns:
        Dict of ``classification``, ``box_regression``, ``total``: scalars,
        or [N] with ``"per_example"``.
    """
    terms = _fast_rcnn_terms(labels, class_logits, box_targets, box_deltas, smooth_l1_beta)
    return _reduce_terms(*terms, box_weight, reduction)


def _normalized_total(classification, box, sampled, box_weight):
    """Per-sample values of ``(cls + lambda box) / sampled count`` over the global batch."""
    total = red.per_sample_sum(classification) + box_weight * red.per_sample_sum(box)
    return red.spread_over_batch(total, tf.reduce_sum(sampled))


@keras.saving.register_keras_serializable(package="kzoo")
class RPNLoss(keras.losses.Loss):
    """Faster R-CNN's RPN loss on packed targets and predictions.

    Binary cross-entropy of objectness over sampled anchors plus
    ``box_weight`` times smooth-L1 of positives' deltas, both divided by the
    number of sampled anchors in the global batch (counted across
    ``tf.distribute`` replicas).

    Args:
        box_weight: weight of the box term (lambda).
        smooth_l1_beta: smooth-L1 transition point.
        reduction: Keras reduction; keep ``"sum_over_batch_size"``.
        name: loss name.
        dtype: computation dtype.

    Call arguments:
        y_true: [N, A, 5]: matcher label, then 4 target deltas.
        y_pred: [N, A, 5]: objectness logit, then 4 predicted deltas.

    Returns:
        The total RPN loss.

    Example:
        >>> loss = RPNLoss()
        >>> y_true = [[[0.0, 0.1, 0.1, 0.0, 0.0], [-1.0, 0.0, 0.0, 0.0, 0.0]]]
        >>> value = loss(y_true, tf.zeros([1, 2, 5]))

    Reference:
        Ren et al., "Faster R-CNN: Towards Real-Time Object Detection with
        Region Proposal Networks", NeurIPS 2015.
    """

    def __init__(
        self, box_weight=1.0, smooth_l1_beta=1.0 / 9.0, reduction="sum_over_batch_size", name="rpn_loss", dtype=None
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.box_weight = box_weight
        self.smooth_l1_beta = smooth_l1_beta

    def call(self, y_true, y_pred):
        y_true, y_pred = tf.convert_to_tensor(y_true), tf.convert_to_tensor(y_pred)
        terms = _rpn_terms(y_true[..., 0], y_pred[..., 0], y_true[..., 1:5], y_pred[..., 1:5], self.smooth_l1_beta)
        return _normalized_total(*terms, self.box_weight)

    def get_config(self):
        config = super().get_config()
        config.update({"box_weight": self.box_weight, "smooth_l1_beta": self.smooth_l1_beta})
        return config


@keras.saving.register_keras_serializable(package="kzoo")
class FastRCNNLoss(keras.losses.Loss):
    """Fast R-CNN multi-task loss on packed targets and predictions.

    Softmax cross-entropy over C + 1 classes for sampled RoIs plus
    ``box_weight`` times smooth-L1 of positives' deltas (of their gt class
    when deltas are class-specific), both divided by the number of sampled
    RoIs in the global batch (counted across ``tf.distribute`` replicas).

    Args:
        num_classes: number of object classes C (without background).
        box_weight: weight of the box term (lambda).
        smooth_l1_beta: smooth-L1 transition point.
        reduction: Keras reduction; keep ``"sum_over_batch_size"``.
        name: loss name.
        dtype: computation dtype.

    Call arguments:
        y_true: [N, R, 5]: matcher label, then 4 target deltas.
        y_pred: [N, R, C + 1 + 4] or [N, R, C + 1 + 4 C]: class logits
            (background first), then class-agnostic or per-class deltas.

    Returns:
        The total Fast R-CNN loss.

    Example:
        >>> loss = FastRCNNLoss(num_classes=3)
        >>> y_true = [[[2.0, 0.1, 0.1, 0.0, 0.0]]]
        >>> value = loss(y_true, tf.zeros([1, 1, 3 + 1 + 12]))

    Reference:
        Girshick, "Fast R-CNN", ICCV 2015.
    """

    def __init__(
        self,
        num_classes,
        box_weight=1.0,
        smooth_l1_beta=1.0,
        reduction="sum_over_batch_size",
        name="fast_rcnn_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.num_classes = num_classes
        self.box_weight = box_weight
        self.smooth_l1_beta = smooth_l1_beta

    def call(self, y_true, y_pred):
        y_true, y_pred = tf.convert_to_tensor(y_true), tf.convert_to_tensor(y_pred)
        num_logits = self.num_classes + 1
        width = y_pred.shape[-1]
        if width == num_logits + 4:
            deltas = y_pred[..., num_logits:]
        elif width == num_logits + 4 * self.num_classes:
            deltas = tf.reshape(y_pred[..., num_logits:], tf.concat([tf.shape(y_pred)[:-1], [self.num_classes, 4]], 0))
        else:
            expected = (num_logits + 4, num_logits + 4 * self.num_classes)
            raise ValueError(f"y_pred's last axis must be {expected[0]} or {expected[1]}, got {width}")
        logits, labels, targets = y_pred[..., :num_logits], y_true[..., 0], y_true[..., 1:5]
        terms = _fast_rcnn_terms(labels, logits, targets, deltas, self.smooth_l1_beta)
        return _normalized_total(*terms, self.box_weight)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"num_classes": self.num_classes, "box_weight": self.box_weight, "smooth_l1_beta": self.smooth_l1_beta}
        )
        return config
