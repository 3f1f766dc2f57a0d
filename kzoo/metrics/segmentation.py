"""Semantic segmentation metrics: per-class IoU, mean IoU and Dice, ignoring a void label.

For two sets A (predicted pixels of a class) and B (true pixels):

    IoU(A, B)  = |A n B| / |A u B|           = TP / (TP + FP + FN)
    Dice(A, B) = 2 |A n B| / (|A| + |B|)      = 2 TP / (2 TP + FP + FN)

Per class the counts come from the pixel confusion matrix; pixels whose true
label is the void label (e.g. 255, the PASCAL VOC boundary) are not counted.
The mean is over the classes present in the labels or the predictions (a
class absent from both has no defined IoU), as ``keras.metrics.MeanIoU``
does.
"""

import keras
import numpy as np
import tensorflow as tf

from kzoo.metrics.classification import ConfusionMatrix, confusion_matrix


def dice_coefficient(a, b):
    """Dice of two binary masks (sets): 2|A n B| / (|A| + |B|); 1 when both are empty.

    Example:
        >>> dice_coefficient([1, 1, 0, 0], [1, 0, 0, 0])   # 2*1 / (2+1)
        0.666...
    """
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    total = a.sum() + b.sum()
    return 1.0 if total == 0 else float(2 * np.logical_and(a, b).sum() / total)


def binary_iou(a, b):
    """IoU of two binary masks (sets): |A n B| / |A u B|; 1 when both are empty."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def iou_from_confusion(confusion):
    """Per-class IoU [C] from a confusion matrix; NaN for classes absent from both sides."""
    cm = np.asarray(confusion, np.float64)
    tp = np.diag(cm)
    denominator = cm.sum(0) + cm.sum(1) - tp
    return np.divide(tp, denominator, out=np.full(len(tp), np.nan), where=denominator > 0)


def dice_from_confusion(confusion):
    """Per-class Dice [C] from a confusion matrix; NaN for classes absent from both sides."""
    cm = np.asarray(confusion, np.float64)
    tp = np.diag(cm)
    denominator = cm.sum(0) + cm.sum(1)
    return np.divide(2 * tp, denominator, out=np.full(len(tp), np.nan), where=denominator > 0)


def segmentation_scores(y_true, y_pred, num_classes, ignore_class=None, sparse_y_pred=True):
    """IoU and Dice per class and their means, and pixel accuracy.

    Args:
        y_true: int label maps, any shape ([N, H, W]).
        y_pred: label maps of the same shape, or class scores [..., C] with
            ``sparse_y_pred=False``.
        num_classes: number of classes, background included.
        ignore_class: void label not counted.

    Returns:
        dict: ``iou`` [C], ``mean_iou``, ``dice`` [C], ``mean_dice``,
        ``pixel_accuracy`` and ``confusion_matrix`` [C, C].
    """
    cm = confusion_matrix(y_true, y_pred, num_classes, sparse_y_pred, ignore_class)
    iou, dice = iou_from_confusion(cm), dice_from_confusion(cm)
    return {
        "iou": iou,
        "mean_iou": float(np.nanmean(iou)) if np.any(~np.isnan(iou)) else 0.0,
        "dice": dice,
        "mean_dice": float(np.nanmean(dice)) if np.any(~np.isnan(dice)) else 0.0,
        "pixel_accuracy": float(np.trace(cm) / cm.sum()) if cm.sum() else 0.0,
        "confusion_matrix": cm,
    }


class _OverlapMetric(ConfusionMatrix):
    """Per-class overlap from the pixel confusion matrix, or its mean."""

    def __init__(self, num_classes, average="macro", sparse_y_pred=False, ignore_class=None, name=None, dtype=None,
                 **kwargs):
        if average not in (None, "macro"):
            raise ValueError(f"average must be None or 'macro', got {average!r}")
        super().__init__(num_classes, sparse_y_pred, ignore_class, name=name, dtype=dtype, **kwargs)
        self.average = average

    def overlap(self, tp, predicted, true):
        raise NotImplementedError

    def result(self):
        cm = self.total
        tp = tf.linalg.diag_part(cm)
        predicted, true = tf.reduce_sum(cm, 0), tf.reduce_sum(cm, 1)
        value = self.overlap(tp, predicted, true)
        if self.average == "macro":
            present = tf.cast(predicted + true > 0, tf.float64)
            value = tf.math.divide_no_nan(tf.reduce_sum(value * present), tf.reduce_sum(present))
        return tf.cast(value, self.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(average=self.average)
        return config


@keras.saving.register_keras_serializable(package="kzoo")
class SegmentationIoU(_OverlapMetric):
    """Streaming per-class IoU of label maps, or their mean (mIoU).

    Args:
        num_classes: number of classes, background included.
        average: ``"macro"`` for the mean over present classes, None for [C].
        sparse_y_pred: whether ``y_pred`` holds label maps; otherwise class
            scores ``[N, H, W, C]`` (``segmentation_probs``) and argmax is taken.
        ignore_class: void label whose pixels are not counted.
        name: metric name.
        dtype: result dtype.

    Call arguments (``update_state``):
        y_true: int label maps [N, H, W] (or [N, H, W, 1]).
        y_pred: scores [N, H, W, C] or label maps [N, H, W].
        sample_weight: optional per-pixel weights.

    Returns:
        mean IoU (scalar), or per-class IoU [C] (0 for absent classes).

    Example:
        >>> m = SegmentationIoU(2, sparse_y_pred=True, ignore_class=255)
        >>> m.update_state([[0, 1, 255]], [[0, 1, 1]])
        >>> float(m.result())
        1.0

    Reference:
        Long, Shelhamer and Darrell, "Fully Convolutional Networks for
        Semantic Segmentation", CVPR 2015.
    """

    def __init__(self, num_classes, average="macro", sparse_y_pred=False, ignore_class=None, name="segmentation_iou",
                 dtype=None, **kwargs):
        super().__init__(num_classes, average, sparse_y_pred, ignore_class, name=name, dtype=dtype, **kwargs)

    def overlap(self, tp, predicted, true):
        return tf.math.divide_no_nan(tp, predicted + true - tp)


@keras.saving.register_keras_serializable(package="kzoo")
class DiceCoefficient(_OverlapMetric):
    """Streaming per-class Dice 2|A n B| / (|A| + |B|) of label maps, or the mean.

    Args, Call arguments: as ``SegmentationIoU``.

    Returns:
        mean Dice (scalar), or per-class Dice [C] (0 for absent classes).

    Example:
        >>> m = DiceCoefficient(2, average=None, sparse_y_pred=True)
        >>> m.update_state([[1, 1, 0, 0]], [[1, 0, 0, 0]])
        >>> m.result()   # class 0: 2*2 / (3 + 2); class 1: 2*1 / (1 + 2)
        [0.8, 0.667]

    Reference:
        Dice, "Measures of the Amount of Ecologic Association Between
        Species", Ecology 1945; Milletari et al., "V-Net", 3DV 2016.
    """

    def __init__(self, num_classes, average="macro", sparse_y_pred=False, ignore_class=None, name="dice_coefficient",
                 dtype=None, **kwargs):
        super().__init__(num_classes, average, sparse_y_pred, ignore_class, name=name, dtype=dtype, **kwargs)

    def overlap(self, tp, predicted, true):
        return tf.math.divide_no_nan(2 * tp, predicted + true)
