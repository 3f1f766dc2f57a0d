"""Evaluation reports: a plain-text table of numbers, and the detection report
(COCO and VOC numbers, precision/recall, PR curves and confusion matrix
pictures) that ``kzoo evaluate`` prints and writes.
"""

import math
import os

import numpy as np

from kzoo.data import coco
from kzoo.metrics import coco_eval, detection, plots, voc


def _format_value(value, digits):
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "n/a" if math.isnan(value) else f"{value:.{digits}f}"
    array = np.asarray(value)
    if array.dtype.kind in "fiub" and array.ndim == 1 and array.size <= 12:
        return "[" + ", ".join(_format_value(v.item(), digits) for v in array) + "]"
    if array.dtype.kind in "fiub":
        return f"<array {'x'.join(map(str, array.shape))}>"
    return str(value)


def _rows(results, indent, digits):
    for name, value in results.items():
        if isinstance(value, dict):
            yield ("  " * indent + str(name), "")
            yield from _rows(value, indent + 1, digits)
        else:
            yield ("  " * indent + str(name), _format_value(value, digits))


def format_table(results, title=None, digits=3):
    """Renders a (possibly nested) dict of numbers as an aligned text table.

    Args:
        results: ``{name: number}``; nested dicts become indented sections,
            short 1-D arrays are listed, NaN prints as ``n/a``.
        title: optional heading line.
        digits: decimals for floats.

    Returns:
        the table as one string.

    Example:
        >>> print(format_table({"AP": 0.5123, "AP50": 0.75}, title="bbox"))
        bbox
        ------------
        metric  value
        ------  -----
        AP      0.512
        AP50    0.750
    """
    rows = [("metric", "value")] + list(_rows(results, 0, digits))
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    lines = []
    if title:
        lines += [title, "-" * max(len(title), width + value_width + 2)]
    lines.append(f"{'metric':<{width}}  value")
    lines.append(f"{'-' * width}  {'-' * max(value_width, 5)}")
    lines += [f"{name:<{width}}  {value}".rstrip() for name, value in rows[1:]]
    return "\n".join(lines)


def detection_report(groundtruth, predictions, out_dir=None, class_names=None, iou_type="bbox",
                     iou_threshold=0.5, score_threshold=0.5, backend="fast"):
    """Evaluates detections every way kzoo knows and writes the pictures.

    Args:
        groundtruth: dataset elements, as for ``coco_evaluate``.
        predictions: prediction dicts in the same order.
        out_dir: folder for ``pr_curves.png`` and ``confusion_matrix.png``;
            None writes nothing.
        class_names: names of the classes, for the table and pictures.
        iou_type: ``"bbox"``, ``"segm"`` or ``"keypoints"`` for the COCO numbers.
        iou_threshold: IoU for precision/recall, PR curves and the confusion matrix.
        score_threshold: score a detection needs for precision/recall and the
            confusion matrix.
        backend: COCO evaluation backend.

    Returns:
        dict: ``coco`` (the 12 numbers), ``per_class_ap`` (COCO AP by class
        name), ``voc`` (mAP@0.5 all-point and 11-point), ``precision_recall``
        (pooled at the thresholds), ``confusion_matrix``, ``files`` (written
        PNGs) and ``table`` (``format_table`` of the numbers).
    """
    elements = coco_eval.unbatch(groundtruth, "boxes")
    predictions = coco_eval.unbatch(predictions, "detection_boxes")
    largest = max([int(np.max(np.asarray(e["classes"]), initial=-1)) for e in elements]
                  + [int(np.max(np.asarray(p["detection_classes"]), initial=-1)) for p in predictions])
    num_classes = len(class_names) if class_names is not None else largest + 1
    names = list(class_names) if class_names is not None else [str(c) for c in range(num_classes)]
    details = coco_eval.coco_evaluation(elements, predictions, iou_type, backend, coco.default_categories(num_classes))
    per_class = {names[category_id - 1]: ap for category_id, ap in details["per_class_ap"].items()}
    voc_all = voc.voc_evaluate(elements, predictions, num_classes=num_classes)
    voc_11 = voc.voc_evaluate(elements, predictions, use_11_point=True, num_classes=num_classes)
    pr = detection.precision_recall(elements, predictions, iou_threshold, score_threshold, num_classes)
    matrix = detection.detection_confusion_matrix(elements, predictions, num_classes, iou_threshold, score_threshold)
    files = []
    if out_dir is not None:
        curves = detection.pr_curves(elements, predictions, iou_threshold, num_classes)
        files.append(plots.plot_pr_curves(curves, os.path.join(out_dir, "pr_curves.png"), names,
                                          title=f"Precision-recall at IoU {iou_threshold:g}"))
        title = f"Detections at IoU {iou_threshold:g}, score >= {score_threshold:g}"
        path = os.path.join(out_dir, "confusion_matrix.png")
        files.append(plots.plot_confusion_matrix(matrix, path, names, title=title))
    numbers = {
        f"COCO {iou_type}": details["stats"],
        "COCO AP by class": per_class,
        "VOC mAP@0.5": {"all-point": voc_all["mAP"], "11-point": voc_11["mAP"]},
        f"at IoU {iou_threshold:g}, score >= {score_threshold:g}": {
            "precision": pr["total_precision"], "recall": pr["total_recall"],
            "TP": pr["total_tp"], "FP": pr["total_fp"], "FN": pr["total_fn"]},
    }
    return {
        "coco": details["stats"],
        "per_class_ap": per_class,
        "voc": numbers["VOC mAP@0.5"],
        "precision_recall": pr,
        "confusion_matrix": matrix,
        "files": files,
        "table": format_table(numbers, title="Evaluation"),
    }
