"""Classification + localization metrics: box IoU and localization accuracy.

IoU measures the overlap of a predicted and a true box, from 0 (none) to 1
(identical): area of intersection / area of union. A single-object
prediction is correct when its class is right and its box has IoU >= 0.5
with the true box (the ImageNet localization criterion).

Boxes are kzoo's normalized ``[ymin, xmin, ymax, xmax]``; IoU does not
change when x and y are scaled, so normalized and pixel boxes give the same
value.
"""

import keras
import numpy as np
import tensorflow as tf

from kzoo.ops import boxes as box_ops


def box_iou(boxes1, boxes2):
    """Pairwise IoU, NumPy. [N, 4], [M, 4] -> [N, M]; 0 where the union is empty.

    Example:
        >>> box_iou([[0, 0, 2, 2]], [[1, 1, 3, 3]])   # 1 / (4 + 4 - 1)
        array([[0.142857...]])
    """
    a = np.asarray(boxes1, np.float64).reshape(-1, 4)
    b = np.asarray(boxes2, np.float64).reshape(-1, 4)
    h = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    w = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.maximum(h, 0) * np.maximum(w, 0)
    area_a = np.maximum(a[:, 2] - a[:, 0], 0) * np.maximum(a[:, 3] - a[:, 1], 0)
    area_b = np.maximum(b[:, 2] - b[:, 0], 0) * np.maximum(b[:, 3] - b[:, 1], 0)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def elementwise_box_iou(boxes1, boxes2):
    """IoU of matching pairs, NumPy. [N, 4], [N, 4] -> [N]."""
    a = np.asarray(boxes1, np.float64).reshape(-1, 4)
    b = np.asarray(boxes2, np.float64).reshape(-1, 4)
    h = np.maximum(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0)
    w = np.maximum(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0)
    inter = h * w
    union = (np.maximum(a[:, 2] - a[:, 0], 0) * np.maximum(a[:, 3] - a[:, 1], 0)
             + np.maximum(b[:, 2] - b[:, 0], 0) * np.maximum(b[:, 3] - b[:, 1], 0) - inter)
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def box_intersection_over_area(boxes1, boxes2):
    """Intersection over the area of each box of ``boxes1``. [N, 4], [M, 4] -> [N, M].

    What COCO uses for crowd regions: how much of a detection lies inside.
    """
    a = np.asarray(boxes1, np.float64).reshape(-1, 4)
    b = np.asarray(boxes2, np.float64).reshape(-1, 4)
    h = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    w = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.maximum(h, 0) * np.maximum(w, 0)
    area = (np.maximum(a[:, 2] - a[:, 0], 0) * np.maximum(a[:, 3] - a[:, 1], 0))[:, None]
    return np.divide(inter, area, out=np.zeros_like(inter), where=area > 0)


def localization_accuracy(true_classes, true_boxes, pred_classes, pred_boxes, iou_threshold=0.5):
    """Fraction of examples with the right class and a box of IoU >= ``iou_threshold``.

    Args:
        true_classes: int [N].
        true_boxes: [N, 4].
        pred_classes: int [N], or probabilities [N, C] (argmax is taken).
        pred_boxes: [N, 4].
        iou_threshold: the overlap a box needs (0.5 by the ImageNet rule).

    Returns:
        dict: ``accuracy`` (class and box right), ``classification_accuracy``,
        ``box_accuracy`` (IoU alone) and ``mean_iou``.
    """
    pred_classes = np.asarray(pred_classes)
    if pred_classes.ndim == 2:
        pred_classes = pred_classes.argmax(-1)
    true_classes = np.asarray(true_classes).reshape(-1)
    iou = elementwise_box_iou(true_boxes, pred_boxes)
    class_ok = pred_classes.reshape(-1) == true_classes
    box_ok = iou >= iou_threshold
    mean = (lambda v: float(np.mean(v)) if len(v) else 0.0)
    return {"accuracy": mean(class_ok & box_ok), "classification_accuracy": mean(class_ok),
            "box_accuracy": mean(box_ok), "mean_iou": mean(iou)}


@keras.saving.register_keras_serializable(package="kzoo")
class LocalizationAccuracy(keras.metrics.Metric):
    """Streaming accuracy of single-object classification + localization.

    An example counts as correct when the predicted class is the true class
    and the predicted box has IoU >= ``iou_threshold`` with the true box.

    Args:
        iou_threshold: the overlap a box needs (0.5 by the ImageNet rule).
        name: metric name.
        dtype: result dtype.

    Call arguments (``update_state``):
        y_true: dict with ``classes`` int [N] and ``boxes`` [N, 4].
        y_pred: dict with ``boxes`` [N, 4] and ``probabilities`` [N, C] or
            ``classes`` [N] (the names of docs/design.md, "Predictions").
        sample_weight: optional [N] weights.

    Returns:
        the weighted fraction of correct examples.

    Example:
        >>> m = LocalizationAccuracy()
        >>> m.update_state({"classes": [1], "boxes": [[0, 0, 1, 1]]},
        ...                {"classes": [1], "boxes": [[0, 0, 0.8, 0.8]]})   # IoU 0.64
        >>> float(m.result())
        1.0

    Reference:
        Russakovsky et al., "ImageNet Large Scale Visual Recognition
        Challenge", IJCV 2015 (section 4.2).
    """

    def __init__(self, iou_threshold=0.5, name="localization_accuracy", dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.iou_threshold = iou_threshold
        self.correct = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="correct")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        if "classes" in y_pred:
            pred_classes = tf.cast(y_pred["classes"], tf.int64)
        else:
            pred_classes = tf.argmax(y_pred["probabilities"], axis=-1)
        true_classes = tf.reshape(tf.cast(y_true["classes"], tf.int64), [-1])
        iou = box_ops.elementwise_iou(tf.reshape(y_true["boxes"], [-1, 4]), tf.reshape(y_pred["boxes"], [-1, 4]))
        correct = tf.logical_and(tf.equal(tf.reshape(pred_classes, [-1]), true_classes), iou >= self.iou_threshold)
        weights = tf.ones_like(iou, tf.float64)
        if sample_weight is not None:
            weights = tf.reshape(tf.cast(sample_weight, tf.float64), [-1])
        self.correct.assign_add(tf.reduce_sum(tf.cast(correct, tf.float64) * weights))
        self.count.assign_add(tf.reduce_sum(weights))

    def result(self):
        return tf.cast(tf.math.divide_no_nan(self.correct, self.count), self.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(iou_threshold=self.iou_threshold)
        return config
