"""Pose metrics: PCK, PCKh and OKS.

- PCK@alpha (percentage of correct keypoints): a predicted joint is correct
  when its distance to the true joint is at most ``alpha`` times the size of
  the figure, ``max(height, width)`` of the box around the figure's labeled
  joints (Yang and Ramanan); ``alpha = 0.2`` is usual.
- PCKh@alpha: the same with the head segment length as the size (MPII,
  ``alpha = 0.5``).
- OKS (object keypoint similarity, COCO): ``exp(-d^2 / (2 s^2 k^2))``
  averaged over the labeled joints, with ``s^2`` the object's area and
  ``k = 2 sigma`` a per-joint constant.

Keypoints follow docs/design.md ("The dataset element", "Predictions"):
predictions ``(y, x)``, ground truth ``(y, x, visible)``; only joints with
``visible > 0`` are scored. Distances are measured in the units given;
with normalized coordinates of a non-square image pass
``image_size=(height, width)`` to measure in pixels.
"""

import keras
import numpy as np
import tensorflow as tf

from kzoo.metrics.fast_coco import COCO_KEYPOINT_SIGMAS


def _split(true_keypoints, image_size):
    true = np.asarray(true_keypoints, np.float64)
    labeled = true[..., 2] > 0 if true.shape[-1] == 3 else np.ones(true.shape[:-1], bool)
    scale = np.array([1.0, 1.0]) if image_size is None else np.asarray(image_size, np.float64)
    return true[..., :2] * scale, labeled, scale


def figure_sizes(true_keypoints, image_size=None):
    """max(height, width) of the box around each figure's labeled joints. [N, J, 3] -> [N]."""
    points, labeled, _ = _split(true_keypoints, image_size)
    low = np.where(labeled[..., None], points, np.inf).min(1)
    high = np.where(labeled[..., None], points, -np.inf).max(1)
    return np.where(labeled.any(1), (high - low).max(-1), 0.0)


def pck(pred_keypoints, true_keypoints, alpha=0.2, reference_sizes=None, image_size=None):
    """Percentage of correct keypoints.

    Args:
        pred_keypoints: [N, J, 2] predicted (y, x).
        true_keypoints: [N, J, 3] true (y, x, visible), or [N, J, 2] all labeled.
        alpha: the fraction of the reference size a joint may be off.
        reference_sizes: [N] size of each figure; ``figure_sizes`` by default.
        image_size: (height, width) to measure normalized coordinates in pixels.

    Returns:
        dict: ``pck`` (the fraction of labeled joints that are correct),
        ``per_joint`` [J] (NaN where a joint is never labeled), ``correct``
        bool [N, J] and ``labeled`` bool [N, J].

    Example:
        >>> true = np.array([[[0, 0, 2], [0, 10, 2]]])      # a figure 10 wide
        >>> pred = np.array([[[1, 0], [0, 13]]])            # errors 1 and 3
        >>> pck(pred, true, alpha=0.2)["pck"]               # threshold 2
        0.5
    """
    points, labeled, scale = _split(true_keypoints, image_size)
    pred = np.asarray(pred_keypoints, np.float64)[..., :2] * scale
    if reference_sizes is None:
        reference_sizes = figure_sizes(true_keypoints, image_size)
    distance = np.sqrt(np.sum((pred - points) ** 2, -1))
    correct = (distance <= alpha * np.asarray(reference_sizes, np.float64).reshape(-1, 1)) & labeled
    count = labeled.sum(0)
    per_joint = np.divide(correct.sum(0), count, out=np.full(count.shape, np.nan), where=count > 0)
    return {
        "pck": float(correct.sum() / labeled.sum()) if labeled.any() else 0.0,
        "per_joint": per_joint,
        "correct": correct,
        "labeled": labeled,
    }


def pckh(pred_keypoints, true_keypoints, alpha=0.5, head_sizes=None, head_joints=None, image_size=None):
    """PCK relative to the head segment length.

    Args:
        head_sizes: [N] head segment lengths (as MPII annotates them), or
        head_joints: (i, j), two joints whose true distance is the head
            segment (e.g. LSP's neck 12 and head top 13).
        Others: as ``pck``.
    """
    if head_sizes is None:
        if head_joints is None:
            raise ValueError("pckh needs head_sizes or head_joints")
        points, _, _ = _split(true_keypoints, image_size)
        i, j = head_joints
        head_sizes = np.sqrt(np.sum((points[:, i] - points[:, j]) ** 2, -1))
    return pck(pred_keypoints, true_keypoints, alpha, head_sizes, image_size)


def oks(pred_keypoints, true_keypoints, areas, sigmas=None):
    """Object keypoint similarity of every (prediction, figure) pair.

    Args:
        pred_keypoints: [K, J, 2] (y, x).
        true_keypoints: [M, J, 3] (y, x, visible).
        areas: [M] object areas, in the coordinates' units squared.
        sigmas: [J] per-joint constants; COCO's 17 by default.

    Returns:
        [K, M]; NaN for a figure without labeled joints.

    Example:
        >>> true = np.array([[[10.0, 10.0, 2]]]); pred = np.array([[[10.0, 12.0]]])
        >>> oks(pred, true, [100.0], sigmas=[0.1])   # exp(-4 / (2 * 100 * 0.2**2))
        array([[0.606...]])
    """
    true = np.asarray(true_keypoints, np.float64)
    pred = np.asarray(pred_keypoints, np.float64)[..., :2]
    sigmas = COCO_KEYPOINT_SIGMAS if sigmas is None else np.asarray(sigmas, np.float64)
    variances = (2 * sigmas) ** 2
    d2 = np.sum((pred[:, None] - true[None, :, :, :2]) ** 2, -1)  # [K, M, J]
    area = np.asarray(areas, np.float64).reshape(1, -1, 1) + np.spacing(1)
    e = d2 / variances / area / 2
    labeled = (true[..., 2] > 0)[None]
    count = labeled.sum(-1)
    total = np.sum(np.where(labeled, np.exp(-e), 0.0), -1)
    return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)


@keras.saving.register_keras_serializable(package="kzoo")
class PercentageOfCorrectKeypoints(keras.metrics.Metric):
    """Streaming PCK@alpha relative to the figure size.

    Args:
        alpha: the fraction of the figure size a joint may be off.
        name: metric name.
        dtype: result dtype.

    Call arguments (``update_state``):
        y_true: [N, J, 3] true (y, x, visible); joints with visible 0 are
            not scored. The figure size is max(height, width) of the box
            around the labeled joints, in the coordinates' units.
        y_pred: [N, J, 2] predicted (y, x) (the ``keypoints`` prediction).
        sample_weight: optional [N] weights.

    Returns:
        the fraction of labeled joints predicted within the threshold.

    Example:
        >>> m = PercentageOfCorrectKeypoints(alpha=0.2)
        >>> m.update_state([[[0, 0, 2], [0, 10, 2]]], [[[1, 0], [0, 13]]])
        >>> float(m.result())
        0.5

    Reference:
        Yang and Ramanan, "Articulated Human Detection with Flexible
        Mixtures of Parts", TPAMI 2013.
    """

    def __init__(self, alpha=0.2, name="pck", dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.alpha = alpha
        self.correct = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="correct")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = tf.cast(y_true, tf.float64)
        points = y_true[..., :2]
        labeled = y_true[..., 2] > 0
        big = tf.constant(np.inf, tf.float64)
        low = tf.reduce_min(tf.where(labeled[..., None], points, big), axis=-2)
        high = tf.reduce_max(tf.where(labeled[..., None], points, -big), axis=-2)
        size = tf.where(tf.reduce_any(labeled, -1), tf.reduce_max(high - low, -1), tf.zeros_like(low[..., 0]))
        distance = tf.norm(tf.cast(y_pred, tf.float64)[..., :2] - points, axis=-1)
        correct = tf.logical_and(distance <= self.alpha * size[..., None], labeled)
        weights = tf.ones_like(size)
        if sample_weight is not None:
            weights = tf.reshape(tf.cast(sample_weight, tf.float64), tf.shape(size))
        self.correct.assign_add(tf.reduce_sum(tf.cast(correct, tf.float64) * weights[..., None]))
        self.count.assign_add(tf.reduce_sum(tf.cast(labeled, tf.float64) * weights[..., None]))

    def result(self):
        return tf.cast(tf.math.divide_no_nan(self.correct, self.count), self.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(alpha=self.alpha)
        return config
