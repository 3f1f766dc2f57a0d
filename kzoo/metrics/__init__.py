"""Metrics the field judges models by: precision/recall, confusion matrix, IoU,
Dice, PCK/OKS, COCO and VOC mAP (pycocotools is the reference).

Plain NumPy functions work on arrays, lists of dataset elements and
prediction dicts (docs/design.md, "The dataset element" and
"Predictions"); the ``Multiclass*``, ``SegmentationIoU``,
``DiceCoefficient``, ``LocalizationAccuracy`` and
``PercentageOfCorrectKeypoints`` classes are streaming Keras metrics;
``ReplicaUsage`` counts the examples each replica of a distribution
strategy computed; ``EvaluationCallback`` evaluates during ``model.fit``.
"""

from kzoo.metrics.callbacks import EvaluationCallback
from kzoo.metrics.classification import (
    ConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
    classification_report,
    confusion_matrix,
    precision_recall_f1,
)
from kzoo.metrics.coco_eval import coco_evaluate, coco_evaluate_json, coco_evaluation
from kzoo.metrics.detection import detection_confusion_matrix, pr_curves, precision_recall
from kzoo.metrics.localization import LocalizationAccuracy, box_iou, elementwise_box_iou, localization_accuracy
from kzoo.metrics.masks import mask_iou, paste_masks
from kzoo.metrics.plots import plot_confusion_matrix, plot_pr_curves
from kzoo.metrics.pose import PercentageOfCorrectKeypoints, oks, pck, pckh
from kzoo.metrics.replica_usage import ReplicaUsage
from kzoo.metrics.report import detection_report, format_table
from kzoo.metrics.segmentation import (
    DiceCoefficient,
    SegmentationIoU,
    binary_iou,
    dice_coefficient,
    segmentation_scores,
)
from kzoo.metrics.voc import voc_ap, voc_evaluate

__all__ = [
    "ConfusionMatrix",
    "DiceCoefficient",
    "EvaluationCallback",
    "LocalizationAccuracy",
    "MulticlassF1Score",
    "MulticlassPrecision",
    "MulticlassRecall",
    "PercentageOfCorrectKeypoints",
    "ReplicaUsage",
    "SegmentationIoU",
    "binary_iou",
    "box_iou",
    "classification_report",
    "coco_evaluate",
    "coco_evaluate_json",
    "coco_evaluation",
    "confusion_matrix",
    "detection_confusion_matrix",
    "detection_report",
    "dice_coefficient",
    "elementwise_box_iou",
    "format_table",
    "localization_accuracy",
    "mask_iou",
    "oks",
    "paste_masks",
    "pck",
    "pckh",
    "plot_confusion_matrix",
    "plot_pr_curves",
    "pr_curves",
    "precision_recall",
    "precision_recall_f1",
    "segmentation_scores",
    "voc_ap",
    "voc_evaluate",
]
