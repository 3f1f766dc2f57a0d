"""Classification metrics: confusion matrix, precision, recall and F1.

With TP, FP and FN counted per class from the confusion matrix (rows are
the true class, columns the predicted class):

    precision = TP / (TP + FP)        recall = TP / (TP + FN)
    F1 = 2 * precision * recall / (precision + recall)

A ratio whose denominator is 0 is 0. Averages: ``"macro"`` is the mean over
the classes that occur (in the labels or the predictions), ``"micro"``
pools the counts of all classes (for single-label data it equals accuracy),
``"weighted"`` weighs each class by its number of true examples, ``None``
gives the per-class values.

Each metric exists as a plain NumPy function on arrays and as a streaming
Keras metric (``ConfusionMatrix``, ``MulticlassPrecision``,
``MulticlassRecall``, ``MulticlassF1Score``) that accumulates a confusion
matrix over batches inside ``model.fit``/``evaluate`` graphs.
"""

import keras
import numpy as np
import tensorflow as tf

AVERAGES = (None, "macro", "micro", "weighted")


def _labels(y_true, y_pred, sparse_y_pred):
    y_pred = np.asarray(y_pred)
    if not sparse_y_pred:
        y_pred = np.argmax(y_pred, axis=-1)
    y_true = np.asarray(y_true)
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return y_true.reshape(-1).astype(np.int64), y_pred.reshape(-1).astype(np.int64)


def confusion_matrix(y_true, y_pred, num_classes, sparse_y_pred=True, ignore_class=None, sample_weight=None):
    """Counts of (true class, predicted class) pairs.

    Args:
        y_true: int labels, any shape.
        y_pred: int labels of the same shape, or scores with a trailing class
            axis when ``sparse_y_pred=False`` (argmax is taken).
        num_classes: number of classes C.
        sparse_y_pred: whether ``y_pred`` holds labels.
        ignore_class: a label (e.g. a void label such as 255) whose pixels or
            examples are not counted; labels outside [0, C) are an error
            otherwise.
        sample_weight: optional weights, the shape of ``y_true``.

    Returns:
        float64 [C, C]: rows are true classes, columns predicted classes.
    """
    t, p = _labels(y_true, y_pred, sparse_y_pred)
    w = np.ones(len(t))
    if sample_weight is not None:
        w = np.broadcast_to(np.asarray(sample_weight, np.float64).reshape(-1), t.shape)
    keep = np.ones(len(t), bool) if ignore_class is None else t != ignore_class
    t, p, w = t[keep], p[keep], w[keep]
    if np.any((t < 0) | (t >= num_classes) | (p < 0) | (p >= num_classes)):
        raise ValueError(f"labels must be in [0, {num_classes}) (or the ignore_class)")
    return np.bincount(t * num_classes + p, weights=w, minlength=num_classes**2).reshape(num_classes, num_classes)


def precision_recall_f1(confusion, average=None):
    """Precision, recall and F1 from a confusion matrix.

    Returns:
        dict with ``precision``, ``recall``, ``f1`` (floats, or [C] arrays
        when ``average`` is None) and ``support`` [C] (true examples per class).

    Example:
        >>> cm = np.array([[5, 1], [2, 2]])  # class 1: TP 2, FP 1, FN 2
        >>> precision_recall_f1(cm)["precision"][1], precision_recall_f1(cm)["recall"][1]
        (0.666..., 0.5)
    """
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    cm = np.asarray(confusion, np.float64)
    tp = np.diag(cm)
    fp = cm.sum(0) - tp
    fn = cm.sum(1) - tp
    support = cm.sum(1)
    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = _ratio(2 * precision * recall, precision + recall)
    if average in ("macro", "weighted"):
        present = (support + cm.sum(0)) > 0
        weights = present.astype(np.float64) if average == "macro" else support
        total = weights.sum()
        precision, recall, f1 = (float(np.sum(v * weights) / total) if total else 0.0 for v in (precision, recall, f1))
    elif average == "micro":
        precision, recall, f1 = float(precision), float(recall), float(f1)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def _ratio(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.divide(a, b, out=np.zeros_like(a * b), where=b > 0)


def classification_report(y_true, y_pred, num_classes, sparse_y_pred=True):
    """Per-class and averaged precision/recall/F1, accuracy and the confusion matrix."""
    cm = confusion_matrix(y_true, y_pred, num_classes, sparse_y_pred)
    report = {"confusion_matrix": cm, "accuracy": float(np.trace(cm) / max(cm.sum(), 1))}
    report["per_class"] = precision_recall_f1(cm)
    for average in ("macro", "micro", "weighted"):
        report[average] = {k: v for k, v in precision_recall_f1(cm, average).items() if k != "support"}
    return report


@keras.saving.register_keras_serializable(package="kzoo")
class ConfusionMatrix(keras.metrics.Metric):
    """Streaming confusion matrix; the base of kzoo's confusion-based metrics.

    Args:
        num_classes: number of classes C.
        sparse_y_pred: whether ``y_pred`` holds labels; otherwise it holds
            scores with a trailing class axis and argmax is taken.
        ignore_class: a true label that is not counted (a void label).
        name: metric name.
        dtype: dtype of the result.

    Call arguments (``update_state``):
        y_true: int labels, any shape (a trailing axis of 1 is dropped).
        y_pred: labels or scores (see ``sparse_y_pred``).
        sample_weight: optional weights, the shape of ``y_true``.

    Returns:
        ``result()``: [C, C] counts, rows true, columns predicted.

    Example:
        >>> m = ConfusionMatrix(3, sparse_y_pred=True)
        >>> m.update_state([0, 1, 2], [0, 2, 2])
        >>> m.result()[1, 2]   # one example of class 1 predicted as 2
        1.0

    Reference:
        Stehman, "Selecting and interpreting measures of thematic
        classification accuracy", Remote Sensing of Environment 1997.
    """

    def __init__(self, num_classes, sparse_y_pred=False, ignore_class=None, name="confusion_matrix", dtype=None,
                 **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.num_classes = num_classes
        self.sparse_y_pred = sparse_y_pred
        self.ignore_class = ignore_class
        self.total = self.add_variable(
            shape=(num_classes, num_classes), initializer="zeros", dtype="float64", name="total"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = tf.convert_to_tensor(y_pred)
        if not self.sparse_y_pred:
            y_pred = tf.argmax(y_pred, axis=-1)
        y_true = tf.convert_to_tensor(y_true)
        if y_true.shape.rank == y_pred.shape.rank + 1:
            y_true = tf.squeeze(y_true, -1)
        y_true = tf.reshape(tf.cast(y_true, tf.int64), [-1])
        y_pred = tf.reshape(tf.cast(y_pred, tf.int64), [-1])
        weights = tf.ones_like(y_true, tf.float64)
        if sample_weight is not None:
            weights = tf.reshape(tf.broadcast_to(tf.cast(sample_weight, tf.float64), tf.shape(y_true)), [-1])
        if self.ignore_class is not None:
            keep = tf.not_equal(y_true, self.ignore_class)
            weights = tf.where(keep, weights, tf.zeros_like(weights))
            y_true = tf.where(keep, y_true, tf.zeros_like(y_true))
        counts = tf.math.confusion_matrix(y_true, y_pred, self.num_classes, weights=weights, dtype=tf.float64)
        self.total.assign_add(counts)

    def result(self):
        return tf.cast(self.total, self.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, sparse_y_pred=self.sparse_y_pred, ignore_class=self.ignore_class)
        return config


def _tf_ratio(a, b):
    return tf.math.divide_no_nan(a, b)


class _AveragedConfusionMetric(ConfusionMatrix):
    """A per-class score from the confusion matrix, averaged as in the module docstring."""

    def __init__(self, num_classes, average="macro", sparse_y_pred=False, ignore_class=None, name=None, dtype=None,
                 **kwargs):
        if average not in AVERAGES:
            raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
        super().__init__(num_classes, sparse_y_pred, ignore_class, name=name, dtype=dtype, **kwargs)
        self.average = average

    def per_class(self, tp, fp, fn):
        raise NotImplementedError

    def result(self):
        cm = self.total
        tp = tf.linalg.diag_part(cm)
        fp = tf.reduce_sum(cm, 0) - tp
        fn = tf.reduce_sum(cm, 1) - tp
        if self.average == "micro":
            value = self.per_class(tf.reduce_sum(tp), tf.reduce_sum(fp), tf.reduce_sum(fn))
        else:
            value = self.per_class(tp, fp, fn)
        if self.average in ("macro", "weighted"):
            support = tf.reduce_sum(cm, 1)
            present = tf.cast(support + tf.reduce_sum(cm, 0) > 0, tf.float64)
            weights = present if self.average == "macro" else support
            value = _tf_ratio(tf.reduce_sum(value * weights), tf.reduce_sum(weights))
        return tf.cast(value, self.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(average=self.average)
        return config


@keras.saving.register_keras_serializable(package="kzoo")
class MulticlassPrecision(_AveragedConfusionMetric):
    """Streaming precision TP / (TP + FP) of single-label predictions.

    Args, Call arguments: as ``ConfusionMatrix``, plus ``average`` (None,
    ``"macro"``, ``"micro"`` or ``"weighted"``, module docstring).

    Returns:
        A scalar, or [C] per-class values when ``average`` is None.

    Example:
        >>> m = MulticlassPrecision(2, average=None, sparse_y_pred=True)
        >>> m.update_state([0, 0, 1, 1], [0, 1, 1, 1])
        >>> m.result()   # class 1: 2 of 3 predictions right
        [1.0, 0.667]

    Reference:
        Powers, "Evaluation: from precision, recall and F-measure to ROC,
        informedness, markedness and correlation", 2011.
    """

    def __init__(self, num_classes, average="macro", sparse_y_pred=False, ignore_class=None, name="precision",
                 dtype=None, **kwargs):
        super().__init__(num_classes, average, sparse_y_pred, ignore_class, name=name, dtype=dtype, **kwargs)

    def per_class(self, tp, fp, fn):
        return _tf_ratio(tp, tp + fp)


@keras.saving.register_keras_serializable(package="kzoo")
class MulticlassRecall(_AveragedConfusionMetric):
    """Streaming recall TP / (TP + FN) of single-label predictions.

    Args, Call arguments, Returns: as ``MulticlassPrecision``.

    Example:
        >>> m = MulticlassRecall(2, average=None, sparse_y_pred=True)
        >>> m.update_state([0, 0, 1, 1], [0, 1, 1, 1])
        >>> m.result()   # class 0: 1 of 2 found
        [0.5, 1.0]

    Reference:
        Powers, 2011 (see ``MulticlassPrecision``).
    """

    def __init__(self, num_classes, average="macro", sparse_y_pred=False, ignore_class=None, name="recall",
                 dtype=None, **kwargs):
        super().__init__(num_classes, average, sparse_y_pred, ignore_class, name=name, dtype=dtype, **kwargs)

    def per_class(self, tp, fp, fn):
        return _tf_ratio(tp, tp + fn)


@keras.saving.register_keras_serializable(package="kzoo")
class MulticlassF1Score(_AveragedConfusionMetric):
    """Streaming F1, the harmonic mean of precision and recall.

    Args, Call arguments, Returns: as ``MulticlassPrecision``.

    Example:
        >>> m = MulticlassF1Score(2, average=None, sparse_y_pred=True)
        >>> m.update_state([0, 0, 1, 1], [0, 1, 1, 1])
        >>> m.result()
        [0.667, 0.8]

    Reference:
        van Rijsbergen, "Information Retrieval", 1979.
    """

    def __init__(self, num_classes, average="macro", sparse_y_pred=False, ignore_class=None, name="f1_score",
                 dtype=None, **kwargs):
        super().__init__(num_classes, average, sparse_y_pred, ignore_class, name=name, dtype=dtype, **kwargs)

    def per_class(self, tp, fp, fn):
        precision = _tf_ratio(tp, tp + fp)
        recall = _tf_ratio(tp, tp + fn)
        return _tf_ratio(2 * precision * recall, precision + recall)
