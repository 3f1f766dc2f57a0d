"""Evaluation of semantic segmentation predictions: mean IoU, Dice and pixel accuracy."""

import numpy as np

from kzoo.metrics.segmentation import segmentation_scores


def _resize_nearest(mask, height, width):
    """Nearest-neighbour resize of an int label map (half-pixel centres, as ``tf.image.resize``)."""
    rows = np.minimum(((np.arange(height) + 0.5) * mask.shape[0] / height).astype(int), mask.shape[0] - 1)
    cols = np.minimum(((np.arange(width) + 0.5) * mask.shape[1] / width).astype(int), mask.shape[1] - 1)
    return mask[rows[:, None], cols[None, :]]


def evaluate(elements, predictions, info):
    """Scores of predicted label maps against the elements' ``segmentation`` maps.

    Every pixel of every image counts (one confusion matrix over the split,
    as PASCAL VOC and Cityscapes score). Predicted masks at the model's
    input size are resized to each image's size by nearest neighbour.

    Args:
        elements: dataset elements with ``segmentation`` int [H, W]
            (0 background, ``c + 1`` class ``c``).
        predictions: one prediction dict per element with
            ``segmentation_mask`` int [h, w].
        info: the dataset's ``kzoo.data.DatasetInfo`` (or its class names).

    Returns:
        dict: ``mean_iou`` and ``mean_dice`` (over the classes present in
        labels or predictions, background included), ``pixel_accuracy``,
        ``iou`` and ``dice`` per class name, the ``confusion_matrix``
        [C + 1, C + 1] (rows true, columns predicted) and the
        ``class_names`` of its rows, ``"background"`` first.
    """
    class_names = ["background"] + list(getattr(info, "class_names", info))
    y_true, y_pred = [], []
    for element, prediction in zip(elements, predictions, strict=True):
        truth = np.asarray(element["segmentation"])
        mask = np.asarray(prediction["segmentation_mask"])
        if mask.shape != truth.shape:
            mask = _resize_nearest(mask, *truth.shape)
        y_true.append(truth.ravel())
        y_pred.append(mask.ravel())
    if not y_true:
        raise ValueError("no elements to evaluate")
    scores = segmentation_scores(np.concatenate(y_true), np.concatenate(y_pred), len(class_names))
    return {
        "mean_iou": scores["mean_iou"],
        "mean_dice": scores["mean_dice"],
        "pixel_accuracy": scores["pixel_accuracy"],
        "iou": dict(zip(class_names, scores["iou"].tolist())),
        "dice": dict(zip(class_names, scores["dice"].tolist())),
        "confusion_matrix": scores["confusion_matrix"],
        "class_names": class_names,
    }
