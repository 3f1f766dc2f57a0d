"""How image classification is judged: accuracy, per-class precision/recall/F1, confusion matrix."""

import numpy as np

from kzoo.metrics.classification import classification_report


def evaluate(elements, predictions, info):
    """Classification metrics over a split, one object (its class) per image.

    Args:
        elements: dataset elements (the first object's class is the label).
        predictions: one dict per element with ``classes`` (scalar).
        info: the dataset's ``kzoo.data.DatasetInfo`` (its ``num_classes``).

    Returns:
        ``kzoo.metrics.classification_report``'s dict: accuracy, per-class
        and averaged precision, recall and F1, and the confusion matrix.
    """
    y_true = np.array([int(e["classes"][0]) for e in elements])
    y_pred = np.array([int(p["classes"]) for p in predictions])
    return classification_report(y_true, y_pred, num_classes=info.num_classes)
