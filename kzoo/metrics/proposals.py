"""Recall of region proposals: how many objects the first N proposals of each image find.

A proposal method is judged before any classifier by its recall (Hosang
et al. 2015, "What makes for effective detection proposals?"): the
fraction of ground-truth boxes whose best IoU with the first N proposals
of their image reaches a threshold. Average recall (AR) averages it over
the IoU thresholds 0.5:0.05:0.95, as COCO's AR does, and rewards
proposals that fit tightly, which is what detection AP ends up paying for.

Two differences from COCO's AR, both on purpose for proposals: the
proposals are class-agnostic (recall is not averaged over categories), and
each ground-truth box takes its best proposal even when another box takes
the same one (no one-to-one matching). Crowd regions (``is_crowd``) are
not objects to find and are left out.
"""

import collections.abc

import numpy as np

from kzoo.metrics.localization import box_iou

COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)


def proposal_recall(ground_truth, proposals, counts=(100, 300), iou_thresholds=COCO_IOU_THRESHOLDS):
    """Recall and average recall of the first N proposals of each image, NumPy.

    Args:
        ground_truth: one entry per image: a dataset element (``boxes``,
            optional ``is_crowd``, ``classes`` (rows of class -1 are
            padding) and ``image_id``) or a [M, 4] array of boxes.
        proposals: one [P, 4] array per image, best first, in the order of
            ``ground_truth``; or a mapping image_id -> [P, 4] (a
            ``kzoo.data.proposal_cache.SplitProposals``) when the ground truth
            are elements. Zero-area rows (padding) are dropped before the
            first N are taken.
        counts: the numbers of proposals N to judge.
        iou_thresholds: the thresholds averaged for ``AR@N``.

    Returns:
        dict: for each N, ``AR@N`` (recall averaged over ``iou_thresholds``)
        and ``AR50@N`` (recall at IoU 0.5); ``recall``, N -> float [T]
        recall at each threshold; ``iou_thresholds``; ``num_ground_truth``
        (boxes over all images). Every recall is NaN without ground truth.
    """
    thresholds = np.asarray(iou_thresholds, np.float64).reshape(-1)
    counts = tuple(int(n) for n in counts)
    gt_boxes = [_gt_boxes(entry) for entry in ground_truth]
    if isinstance(proposals, collections.abc.Mapping):
        proposals = [proposals[int(np.asarray(entry["image_id"]))] for entry in ground_truth]
    if len(proposals) != len(gt_boxes):
        raise ValueError(f"{len(gt_boxes)} images of ground truth but {len(proposals)} of proposals.")

    # Best IoU of every ground-truth box with the first N proposals, for each N.
    best = {n: [] for n in counts}
    for boxes, image_proposals in zip(gt_boxes, proposals):
        image_proposals = np.asarray(image_proposals, np.float64).reshape(-1, 4)
        areas = (image_proposals[:, 2] - image_proposals[:, 0]) * (image_proposals[:, 3] - image_proposals[:, 1])
        image_proposals = image_proposals[areas > 0]
        iou = box_iou(boxes, image_proposals)  # [M, P]
        for n in counts:
            first = iou[:, :n]
            best[n].append(first.max(axis=1) if first.shape[1] else np.zeros(len(boxes)))

    num_gt = sum(len(boxes) for boxes in gt_boxes)
    result = {"recall": {}, "iou_thresholds": thresholds, "num_ground_truth": num_gt}
    for n in counts:
        best_iou = np.concatenate(best[n]) if best[n] else np.zeros(0)
        if num_gt == 0:
            recall, recall50 = np.full(len(thresholds), np.nan), np.nan
        else:
            recall = (best_iou[:, None] >= thresholds[None, :]).mean(axis=0)
            recall50 = float((best_iou >= 0.5).mean())
        result["recall"][n] = recall
        result[f"AR@{n}"] = float(recall.mean())
        result[f"AR50@{n}"] = recall50
    return result


def _gt_boxes(entry):
    """[M, 4] float64 boxes of an element (crowd regions and padding left out) or of an array."""
    if isinstance(entry, collections.abc.Mapping):
        boxes = np.asarray(entry["boxes"], np.float64).reshape(-1, 4)
        keep = np.ones(len(boxes), bool)
        if "is_crowd" in entry:
            keep &= ~np.asarray(entry["is_crowd"], bool).reshape(-1)
        if "classes" in entry:  # padded elements: class -1 rows are not objects
            keep &= np.asarray(entry["classes"]).reshape(-1) >= 0
        return boxes[keep]
    return np.asarray(entry, np.float64).reshape(-1, 4)
