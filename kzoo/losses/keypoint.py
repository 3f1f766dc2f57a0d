"""Keypoint losses: Mask R-CNN heatmap cross-entropy and DeepPose coordinate regression.

Heatmaps: each keypoint of each RoI is a one-hot m x m map with a single
target pixel; the loss is a softmax cross-entropy over the m^2 positions
(one softmax per keypoint, not per pixel), weighted by visibility and
averaged over the visible keypoints. Coordinates: an L2 (or L1) distance
between predicted and true normalized (y, x) positions of each visible joint,
averaged over visible joints. Invisible or unlabelled keypoints add nothing;
a batch without visible keypoints has loss exactly 0.
"""

import keras
import tensorflow as tf

from kzoo.losses import reduction as red


def keypoint_heatmap_targets(keypoints, boxes, heatmap_size):
    """Target pixel index and visibility of each keypoint inside its RoI's heatmap.

    Args:
        keypoints: [..., J, 3] normalized ``(y, x, visible)``.
        boxes: [..., 4] RoIs ``[ymin, xmin, ymax, xmax]`` (normalized).
        heatmap_size: (h, w) of the heatmap.

    Returns:
        ``(indices, visibility)``: int32 [..., J] flat index ``row * w + col``
        and float32 [..., J], 1 where the keypoint is visible and inside a
        non-empty RoI, else 0 (index 0).
    """
    height, width = heatmap_size
    keypoints = tf.convert_to_tensor(keypoints, tf.float32)
    boxes = tf.convert_to_tensor(boxes, tf.float32)[..., None, :]
    y, x, visible = tf.unstack(keypoints, 3, axis=-1)
    box_h = boxes[..., 2] - boxes[..., 0]
    box_w = boxes[..., 3] - boxes[..., 1]
    inside = (y >= boxes[..., 0]) & (y <= boxes[..., 2]) & (x >= boxes[..., 1]) & (x <= boxes[..., 3])
    valid = (visible > 0.0) & inside & (box_h > 0.0) & (box_w > 0.0)
    # A keypoint on the far edge falls in the last bin, not one past it.
    row = tf.clip_by_value(tf.floor(tf.math.divide_no_nan(y - boxes[..., 0], box_h) * height), 0, height - 1)
    col = tf.clip_by_value(tf.floor(tf.math.divide_no_nan(x - boxes[..., 1], box_w) * width), 0, width - 1)
    indices = tf.cast(row, tf.int32) * width + tf.cast(col, tf.int32)
    return tf.where(valid, indices, 0), tf.cast(valid, tf.float32)


def _heatmap_terms(y_true, heatmap_logits, visibility=None):
    """Per-keypoint weighted cross-entropy [..., J] and keypoint weights [..., J]."""
    logits = tf.convert_to_tensor(heatmap_logits)
    dtype = logits.dtype
    shape = tf.shape(logits)
    # [..., h, w, J] -> [..., J, h * w] so the softmax runs over positions.
    flat_shape = tf.concat([shape[:-3], [shape[-3] * shape[-2], shape[-1]]], 0)
    flat = tf.linalg.matrix_transpose(tf.reshape(logits, flat_shape))
    log_probs = tf.nn.log_softmax(flat, axis=-1)
    y_true = tf.convert_to_tensor(y_true)
    if y_true.shape.rank == logits.shape.rank - 2:
        indices = red.labels_from_float(y_true)
        weights = tf.cast(indices >= 0, dtype)
        if visibility is not None:
            weights = weights * tf.cast(visibility, dtype)
        targets = tf.one_hot(tf.maximum(indices, 0), tf.shape(flat)[-1], dtype=dtype) * weights[..., None]
    else:
        targets = tf.linalg.matrix_transpose(tf.reshape(tf.cast(y_true, dtype), flat_shape))
        weights = tf.reduce_sum(targets, axis=-1)
    return -tf.reduce_sum(targets * log_probs, axis=-1), weights


def keypoint_heatmap_loss(y_true, heatmap_logits, visibility=None, reduction="mean"):
    """Mask R-CNN keypoint loss: spatial softmax cross-entropy per keypoint.

    Args:
        y_true: int [..., J] target pixel indices (``row * w + col``, negative
            for no target), or dense target heatmaps [..., h, w, J] whose map
            sums to the keypoint's weight (one-hot for a visible keypoint, all
            zeros for an invisible one).
        heatmap_logits: [..., h, w, J] logits.
        visibility: optional [..., J] weights with integer targets.
        reduction: ``"mean"`` (divided by the sum of keypoint weights: the
            number of visible keypoints), ``"sum"`` or ``"none"`` ([..., J]).

    Returns:
        A scalar, or [..., J] for ``"none"``.
    """
    loss, weights = _heatmap_terms(y_true, heatmap_logits, visibility)
    return red.reduce(loss, None, reduction, normalizer=tf.reduce_sum(weights))


def _coordinate_terms(y_true, y_pred, visibility, norm):
    y_pred = tf.convert_to_tensor(y_pred)
    y_true = tf.cast(y_true, y_pred.dtype)
    if y_true.shape[-1] == 3:
        visibility = y_true[..., 2] if visibility is None else visibility
        y_true = y_true[..., :2]
    if visibility is None:
        weights = tf.ones_like(y_pred[..., 0])
    else:
        weights = tf.cast(tf.cast(visibility, y_pred.dtype) > 0.0, y_pred.dtype)
    diff = y_pred - y_true
    distance = tf.reduce_sum(tf.square(diff) if norm == "l2" else tf.abs(diff), axis=-1)
    return tf.where(weights > 0.0, distance, tf.zeros_like(distance)), weights


def keypoint_coordinate_loss(y_true, y_pred, visibility=None, norm="l2", reduction="mean"):
    """DeepPose coordinate regression loss over visible joints.

    Args:
        y_true: [..., J, 2] normalized ``(y, x)``, or [..., J, 3] with the
            visibility flag last (kzoo's keypoint format).
        y_pred: [..., J, 2] predicted normalized ``(y, x)``.
        visibility: optional [..., J]; a joint counts where it is > 0
            (overrides the flag in ``y_true``).
        norm: ``"l2"`` (squared Euclidean distance, as DeepPose) or ``"l1"``.
        reduction: ``"mean"`` (over visible joints), ``"sum"`` or ``"none"``
            ([..., J]).

    Returns:
        A scalar, or [..., J] for ``"none"``.
    """
    if norm not in ("l1", "l2"):
        raise ValueError(f"norm must be 'l1' or 'l2', got {norm!r}")
    loss, weights = _coordinate_terms(y_true, y_pred, visibility, norm)
    return red.reduce(loss, weights, reduction)


@keras.saving.register_keras_serializable(package="kzoo")
class KeypointHeatmapLoss(keras.losses.Loss):
    """Mask R-CNN keypoint heatmap loss: softmax cross-entropy over positions.

    Sums the visibility-weighted cross-entropy of every keypoint and divides
    by the sum of keypoint weights over the global batch (counted across
    ``tf.distribute`` replicas).

    Args:
        reduction: Keras reduction; keep ``"sum_over_batch_size"``.
        name: loss name.
        dtype: computation dtype.

    Call arguments:
        y_true: int target indices [N, ..., J] (negative: no target) or dense
            heatmaps [N, ..., h, w, J] (all zeros for an invisible keypoint).
        y_pred: heatmap logits [N, ..., h, w, J].

    Returns:
        The mean cross-entropy over visible keypoints.

    Example:
        >>> loss = KeypointHeatmapLoss()
        >>> value = loss([[5, -1]], tf.zeros([1, 4, 4, 2]))

    Reference:
        He et al., "Mask R-CNN", ICCV 2017.
    """

    def __init__(self, reduction="sum_over_batch_size", name="keypoint_heatmap_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        y_true, y_pred = tf.convert_to_tensor(y_true), tf.convert_to_tensor(y_pred)
        loss, weights = _heatmap_terms(y_true, y_pred)
        return red.spread_over_batch(red.per_sample_sum(loss), tf.reduce_sum(weights))


@keras.saving.register_keras_serializable(package="kzoo")
class KeypointCoordinateLoss(keras.losses.Loss):
    """DeepPose keypoint regression loss (L2 or L1) over visible joints.

    Sums the per-joint distances and divides by the number of visible joints
    over the global batch (counted across ``tf.distribute`` replicas).

    Args:
        norm: ``"l2"`` (squared distance) or ``"l1"``.
        reduction: Keras reduction; keep ``"sum_over_batch_size"``.
        name: loss name.
        dtype: computation dtype.

    Call arguments:
        y_true: [N, J, 3] ``(y, x, visible)`` or [N, J, 2] (all visible).
        y_pred: [N, J, 2] predicted ``(y, x)``.

    Returns:
        The mean distance over visible joints.

    Example:
        >>> loss = KeypointCoordinateLoss(norm="l2")
        >>> value = loss([[[0.5, 0.5, 1.0], [0.0, 0.0, 0.0]]], [[[0.4, 0.5], [0.9, 0.9]]])

    Reference:
        Toshev and Szegedy, "DeepPose: Human Pose Estimation via Deep Neural
        Networks", CVPR 2014.
    """

    def __init__(self, norm="l2", reduction="sum_over_batch_size", name="keypoint_coordinate_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if norm not in ("l1", "l2"):
            raise ValueError(f"norm must be 'l1' or 'l2', got {norm!r}")
        self.norm = norm

    def call(self, y_true, y_pred):
        y_true, y_pred = tf.convert_to_tensor(y_true), tf.convert_to_tensor(y_pred)
        loss, weights = _coordinate_terms(y_true, y_pred, None, self.norm)
        return red.spread_over_batch(red.per_sample_sum(loss), tf.reduce_sum(weights))

    def get_config(self):
        config = super().get_config()
        config.update({"norm": self.norm})
        return config
