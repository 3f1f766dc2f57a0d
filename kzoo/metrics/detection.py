"""Detection metrics at one IoU threshold: precision, recall, PR curves, confusion matrix.

Detections are matched to ground truth as COCO matches them: per image and
class, in score order, each detection takes the still-free ground-truth box
with the highest IoU >= the threshold; a detection that only overlaps a crowd
region (intersection over the detection's area >= the threshold) is neither
right nor wrong. Then, with the lecture's definitions,

    precision = TP / (TP + FP)        recall = TP / (TP + FN)

where TP are matched detections, FP unmatched detections and FN non-crowd
ground truth left unmatched. Inputs are lists of dataset elements and
prediction dicts as for ``kzoo.metrics.coco_evaluate``.
"""

import numpy as np

from kzoo.data import coco
from kzoo.metrics import coco_eval, fast_coco
from kzoo.metrics.localization import box_intersection_over_area, box_iou
from kzoo.metrics.voc import voc_ap


def _matched(groundtruth, predictions, iou_threshold, num_classes):
    elements = coco_eval.unbatch(groundtruth, "boxes")
    predictions = coco_eval.unbatch(predictions, "detection_boxes")
    if len(elements) != len(predictions):
        raise ValueError(f"{len(elements)} ground-truth elements but {len(predictions)} predictions")
    if num_classes is None:
        largest = [np.max(np.asarray(e["classes"]), initial=-1) for e in elements]
        largest += [np.max(np.asarray(p["detection_classes"]), initial=-1) for p in predictions]
        num_classes = int(max(largest, default=-1)) + 1
    categories = coco.default_categories(num_classes)
    gt, dt = coco_eval.coco_arrays(elements, predictions, "bbox", categories)
    ids = coco.image_ids(elements)
    result = fast_coco.match_detections(gt, dt, ids, np.arange(1, num_classes + 1), [iou_threshold])
    image_rank = np.searchsorted(np.unique(ids), dt["image_id"])
    return {
        "classes": dt["category_id"] - 1,
        "scores": dt["score"],
        "image_rank": image_rank,
        "tp": result["matched"][:, 0] & ~result["ignored"][:, 0],
        "ignored": result["ignored"][:, 0],
        "num_groundtruth": result["num_groundtruth"],
        "num_classes": num_classes,
    }


def precision_recall(groundtruth, predictions, iou_threshold=0.5, score_threshold=0.5, num_classes=None):
    """Precision and recall of the detections scoring >= ``score_threshold``.

    Returns:
        dict: per-class ``tp``, ``fp``, ``fn``, ``precision``, ``recall``
        ([C] arrays, 0 where undefined) and their pooled ``total_*`` values.

    Example:
        One object, two detections of it (0.9 and 0.8): the second is a
        duplicate, so TP 1, FP 1, FN 0, precision 0.5, recall 1.0.
    """
    m = _matched(groundtruth, predictions, iou_threshold, num_classes)
    keep = (m["scores"] >= score_threshold) & ~m["ignored"]
    c = m["num_classes"]
    tp = np.bincount(m["classes"][keep & m["tp"]], minlength=c)
    fp = np.bincount(m["classes"][keep & ~m["tp"]], minlength=c)
    fn = m["num_groundtruth"] - tp
    out = {"tp": tp, "fp": fp, "fn": fn, "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn)}
    out.update(total_tp=int(tp.sum()), total_fp=int(fp.sum()), total_fn=int(fn.sum()),
               total_precision=float(_ratio(tp.sum(), tp.sum() + fp.sum())),
               total_recall=float(_ratio(tp.sum(), tp.sum() + fn.sum())))
    return out


def _ratio(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.divide(a, b, out=np.zeros_like(a * b), where=b > 0)


def pr_curves(groundtruth, predictions, iou_threshold=0.5, num_classes=None):
    """Per-class precision-recall curves, one point per detection in score order.

    Returns:
        {class: dict} with ``precision``, ``recall`` and ``scores`` [n] (the
        curve after each detection), ``num_groundtruth`` and ``ap`` (the
        all-point interpolated area, as ``voc_ap``; NaN without ground truth).
    """
    m = _matched(groundtruth, predictions, iou_threshold, num_classes)
    # Score order; ties keep image order then detection order, as COCO does.
    order = np.lexsort((np.arange(len(m["scores"])), m["image_rank"], -m["scores"]))
    order = order[~m["ignored"][order]]
    curves = {}
    for c in range(m["num_classes"]):
        sel = order[m["classes"][order] == c]
        tp = np.cumsum(m["tp"][sel]).astype(np.float64)
        fp = np.cumsum(~m["tp"][sel]).astype(np.float64)
        npos = m["num_groundtruth"][c]
        recall = tp / npos if npos else np.zeros_like(tp)
        precision = _ratio(tp, tp + fp)
        curves[c] = {"precision": precision, "recall": recall, "scores": m["scores"][sel], "num_groundtruth": int(npos),
                     "ap": voc_ap(recall, precision) if npos else float("nan")}
    return curves


def detection_confusion_matrix(groundtruth, predictions, num_classes, iou_threshold=0.5, score_threshold=0.5):
    """Confusion matrix of detections with a background row and column.

    Per image, detections scoring >= ``score_threshold`` and non-crowd ground
    truth are paired one to one regardless of class, highest IoU first,
    down to ``iou_threshold``. A pair counts at (true class, detected class);
    an unpaired ground-truth box at (true class, background): a missed object;
    an unpaired detection at (background, detected class): a false detection,
    unless it lies inside a crowd region (intersection over its area >=
    ``iou_threshold``).

    Returns:
        int64 [C + 1, C + 1]: rows true class, columns detected class; the
        last row and column are background.
    """
    elements = coco_eval.unbatch(groundtruth, "boxes")
    predictions = coco_eval.unbatch(predictions, "detection_boxes")
    matrix = np.zeros((num_classes + 1, num_classes + 1), np.int64)
    bg = num_classes
    for element, prediction in zip(elements, predictions):
        classes = np.asarray(element["classes"]).reshape(-1).astype(np.int64)
        crowd = np.asarray(element.get("is_crowd", np.zeros(len(classes), bool)), bool).reshape(-1)
        boxes = np.asarray(element["boxes"], np.float64).reshape(-1, 4)
        valid = classes >= 0
        gt_boxes, gt_classes = boxes[valid & ~crowd], classes[valid & ~crowd]
        arrays = coco.prediction_arrays(prediction, 1, 1)
        keep = arrays["score"] >= score_threshold
        x, y, w, h = arrays["bbox"][keep].T
        det_boxes, det_classes = np.stack([y, x, y + h, x + w], -1), arrays["classes"][keep]
        iou = box_iou(gt_boxes, det_boxes)
        pairs = _greedy_pairs(iou, iou_threshold)
        np.add.at(matrix, (gt_classes[pairs[:, 0]], det_classes[pairs[:, 1]]), 1)
        missed = np.setdiff1d(np.arange(len(gt_classes)), pairs[:, 0])
        np.add.at(matrix, (gt_classes[missed], bg), 1)
        extra = np.setdiff1d(np.arange(len(det_classes)), pairs[:, 1])
        if np.any(valid & crowd) and len(extra):
            inside = box_intersection_over_area(det_boxes[extra], boxes[valid & crowd]).max(1) >= iou_threshold
            extra = extra[~inside]
        np.add.at(matrix, (bg, det_classes[extra]), 1)
    return matrix


def _greedy_pairs(iou, threshold):
    """One-to-one (row, column) pairs, highest IoU first, while IoU >= threshold."""
    iou = np.where(iou >= threshold, iou, -1.0)
    pairs = []
    while iou.size and iou.max() >= 0:
        r, c = np.unravel_index(np.argmax(iou), iou.shape)
        pairs.append((r, c))
        iou[r, :] = -1.0
        iou[:, c] = -1.0
    return np.array(pairs, np.int64).reshape(-1, 2)
