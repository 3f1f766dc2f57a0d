"""How classification + localization is judged: class accuracy, mean IoU, accuracy at IoU >= 0.5."""

import numpy as np

from kzoo.metrics import localization_accuracy


def evaluate(elements, predictions, info, iou_threshold=0.5):
    """Single-object metrics over a split.

    Args:
        elements: dataset elements (their first object is the ground truth).
        predictions: one dict per element with ``classes`` (scalar) and
            ``boxes`` [4] (docs/design.md, "Predictions", classification +
            localization).
        info: the dataset's ``kzoo.data.DatasetInfo`` (unused: the metrics
            need no class names).
        iou_threshold: overlap a box needs to count (0.5, the ImageNet rule).

    Returns:
        dict: ``accuracy`` (right class and IoU >= threshold),
        ``classification_accuracy``, ``box_accuracy`` (IoU alone) and
        ``mean_iou``.
    """
    del info
    if not elements:
        return {"accuracy": 0.0, "classification_accuracy": 0.0, "box_accuracy": 0.0, "mean_iou": 0.0}
    true_classes = np.array([int(e["classes"][0]) for e in elements])
    true_boxes = np.stack([np.asarray(e["boxes"][0], np.float32) for e in elements])
    pred_classes = np.array([int(p["classes"]) for p in predictions])
    pred_boxes = np.stack([np.asarray(p["boxes"], np.float32).reshape(4) for p in predictions])
    return localization_accuracy(true_classes, true_boxes, pred_classes, pred_boxes, iou_threshold)
