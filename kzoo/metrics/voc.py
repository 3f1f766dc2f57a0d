"""PASCAL VOC mean average precision at IoU 0.5 (11-point and all-point).

The rules of the VOC development kit (``VOCevaldet.m``): per class,
detections in decreasing score order; each is compared with the ground-truth
box of its image that overlaps it most (the first one on equal IoU). With
IoU >= the threshold it is a true positive if that box is still free, a false
positive if an earlier detection took it (a duplicate), and neither if that
box is marked difficult; with less overlap it is a false positive. Unlike
COCO, a detection does not fall back to its second-best box.

AP is the area under the precision-recall curve: the mean of the best
precision at recall >= 0, 0.1, ..., 1 (11-point, VOC 2007), or the exact
area under the curve made monotone (all-point, VOC 2010 and later).

Kzoo boxes are continuous normalized coordinates, so the IoU has no "+1
pixel" term. Crowd annotations (``is_crowd``) and VOC's ``difficult`` flag
are both treated as difficult.
"""

import numpy as np

from kzoo.metrics import coco_eval
from kzoo.metrics.localization import box_iou


def voc_ap(recall, precision, use_11_point=False):
    """Average precision from a PR curve (points in decreasing score order).

    Example:
        >>> voc_ap([0.5, 0.5, 1.0], [1.0, 0.5, 0.667])   # 0.5 * 1 + 0.5 * 0.667
        0.8335
    """
    recall = np.asarray(recall, np.float64)
    precision = np.asarray(precision, np.float64)
    if use_11_point:
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):
            p = precision[recall >= t]
            ap += (p.max() if p.size else 0.0) / 11.0
        return float(ap)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[i] - mrec[i - 1]) * mpre[i]))


def _flatten(groundtruth, predictions):
    elements = coco_eval.unbatch(groundtruth, "boxes")
    predictions = coco_eval.unbatch(predictions, "detection_boxes")
    if len(elements) != len(predictions):
        raise ValueError(f"{len(elements)} ground-truth elements but {len(predictions)} predictions")
    gt = {"image": [], "boxes": [], "classes": [], "difficult": []}
    dt = {"image": [], "boxes": [], "classes": [], "scores": []}
    for i, (element, prediction) in enumerate(zip(elements, predictions)):
        classes = np.asarray(element["classes"]).reshape(-1).astype(np.int64)
        keep = classes >= 0
        difficult = np.zeros(len(classes), bool)
        for flag in ("is_crowd", "difficult"):
            if flag in element:
                difficult |= np.asarray(element[flag], bool).reshape(-1)
        gt["image"].append(np.full(keep.sum(), i))
        gt["boxes"].append(np.asarray(element["boxes"], np.float64).reshape(-1, 4)[keep])
        gt["classes"].append(classes[keep])
        gt["difficult"].append(difficult[keep])
        boxes = np.asarray(prediction["detection_boxes"], np.float64).reshape(-1, 4)
        count = len(boxes)
        if "num_detections" in prediction:
            count = min(count, int(np.asarray(prediction["num_detections"]).reshape(-1)[0]))
        dt["image"].append(np.full(count, i))
        dt["boxes"].append(boxes[:count])
        dt["classes"].append(np.asarray(prediction["detection_classes"]).reshape(-1)[:count].astype(np.int64))
        dt["scores"].append(np.asarray(prediction["detection_scores"], np.float64).reshape(-1)[:count])
    return ({k: np.concatenate(v) for k, v in gt.items()}, {k: np.concatenate(v) for k, v in dt.items()})


def voc_evaluate(groundtruth, predictions, iou_threshold=0.5, use_11_point=False, num_classes=None):
    """VOC mAP of detections.

    Args:
        groundtruth: dataset elements (``boxes``, ``classes``, optional
            ``is_crowd`` / ``difficult``), as for ``coco_evaluate``.
        predictions: prediction dicts in the same order.
        iou_threshold: 0.5 in VOC.
        use_11_point: VOC 2007's 11-point AP instead of the all-point area.
        num_classes: classes to report; by default up to the largest seen.

    Returns:
        dict: ``mAP`` (mean over classes with non-difficult ground truth) and
        ``per_class_ap`` {class: AP, NaN without ground truth}.
    """
    gt, dt = _flatten(groundtruth, predictions)
    if num_classes is None:
        num_classes = int(max(gt["classes"].max(initial=-1), dt["classes"].max(initial=-1))) + 1
    per_class = {}
    for c in range(num_classes):
        g = gt["classes"] == c
        d = np.flatnonzero(dt["classes"] == c)
        d = d[np.argsort(-dt["scores"][d], kind="stable")]
        npos = int(np.sum(g & ~gt["difficult"]))
        tp, fp = _voc_match(dt["image"][d], dt["boxes"][d], gt["image"][g], gt["boxes"][g], gt["difficult"][g],
                            iou_threshold)
        tp, fp = np.cumsum(tp).astype(np.float64), np.cumsum(fp).astype(np.float64)
        if npos == 0:
            per_class[c] = float("nan")
            continue
        recall = tp / npos
        precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
        per_class[c] = voc_ap(recall, precision, use_11_point)
    values = [v for v in per_class.values() if not np.isnan(v)]
    return {"mAP": float(np.mean(values)) if values else float("nan"), "per_class_ap": per_class}


def _voc_match(det_image, det_boxes, gt_image, gt_boxes, gt_difficult, threshold):
    """TP and FP flags [D] of one class's detections, given in decreasing score order."""
    tp = np.zeros(len(det_image), bool)
    fp = np.zeros(len(det_image), bool)
    best = np.full(len(det_image), -1)
    overlap = np.zeros(len(det_image))
    for image in np.unique(det_image):
        d = np.flatnonzero(det_image == image)
        g = np.flatnonzero(gt_image == image)
        if len(g):
            iou = box_iou(det_boxes[d], gt_boxes[g])
            best[d] = g[np.argmax(iou, axis=1)]
            overlap[d] = iou.max(axis=1)
    hit = (best >= 0) & (overlap >= threshold)
    difficult = hit & gt_difficult[np.maximum(best, 0)]
    candidate = np.flatnonzero(hit & ~difficult)
    # The first detection (in score order) to reach a box takes it; later ones are duplicates.
    _, first = np.unique(best[candidate], return_index=True)
    tp[candidate[first]] = True
    fp[~hit] = True
    fp[candidate] = ~tp[candidate]
    return tp, fp
