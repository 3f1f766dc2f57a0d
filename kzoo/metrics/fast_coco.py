"""A vectorized NumPy COCO evaluator that reproduces pycocotools' ``COCOeval``.

The numbers are those of ``COCOeval.evaluate(); accumulate(); summarize()``
with the default parameters, to floating-point round-off: the same IoU
thresholds, 101 recall points, area ranges and max detections; detections
sorted by score with a stable sort (ties keep the order of the results list,
then the order of the sorted image ids); crowd ground truth matched with
intersection over the detection's area, never a false negative, able to absorb
several detections; ground truth outside the area range (or crowd, or a person
without labeled keypoints) ignored, and an unmatched detection outside the
area range ignored.

Where pycocotools runs one Python loop per (image, category, area range,
threshold, detection, ground truth), this module matches the r-th detection
of every (image, category) pair at once, for all area ranges and thresholds
together, on padded arrays bucketed by size.

Inputs are flat annotation arrays in COCO's pixel units
(``kzoo.metrics.coco_eval.coco_arrays_from_json`` builds them from a COCO
dataset dict and a results list, exactly as ``COCO.loadRes`` reads them):

- ground truth: ``image_id`` int64 [N], ``category_id`` int64 [N], ``bbox``
  float64 [N, 4] (x, y, w, h), ``area`` float64 [N], ``iscrowd`` bool [N],
  and ``keypoints`` float64 [N, J, 3] (x, y, v) with ``num_keypoints`` [N] or
  ``segmentation`` (list of compressed RLE dicts) where the IoU type needs them.
- detections: the same without ``iscrowd``, plus ``score`` float64 [N].
"""

import numpy as np
from pycocotools import mask as mask_utils

from kzoo.metrics import fast_coco_match as match

IOU_THRESHOLDS = match.IOU_THRESHOLDS
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
BOX_AREA_RANGES = {
    "all": (0**2, 1e5**2),
    "small": (0**2, 32**2),
    "medium": (32**2, 96**2),
    "large": (96**2, 1e5**2),
}
KEYPOINT_AREA_RANGES = {"all": (0**2, 1e5**2), "medium": (32**2, 96**2), "large": (96**2, 1e5**2)}
BOX_MAX_DETECTIONS = (1, 10, 100)
KEYPOINT_MAX_DETECTIONS = (20,)
COCO_KEYPOINT_SIGMAS = (
    np.array([0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89])
    / 10.0
)
BOX_STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
KEYPOINT_STAT_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")


def evaluate(groundtruth, detections, image_ids, category_ids, iou_type="bbox", keypoint_sigmas=None):
    """COCO evaluation of flat annotation arrays.

    Args:
        groundtruth: dict of ground-truth arrays (module docstring).
        detections: dict of detection arrays (module docstring).
        image_ids: every evaluated image id, including images without any
            annotation (their detections are false positives).
        category_ids: the evaluated category ids; annotations of other
            categories are left out, as pycocotools does.
        iou_type: ``"bbox"``, ``"segm"`` or ``"keypoints"``.
        keypoint_sigmas: per-keypoint OKS sigmas; COCO's 17 by default.

    Returns:
        A dict with ``stats`` (named as ``BOX_STAT_NAMES`` or
        ``KEYPOINT_STAT_NAMES``), ``precision`` [T, R, K, A, M] and ``recall``
        [T, K, A, M] (-1 where a category has no ground truth in that area
        range, as in ``COCOeval.eval``), ``category_ids``, ``area_ranges`` and
        ``max_detections``.
    """
    if iou_type not in ("bbox", "segm", "keypoints"):
        raise ValueError(f"iou_type must be 'bbox', 'segm' or 'keypoints', got {iou_type!r}")
    keypoints = iou_type == "keypoints"
    area_ranges = KEYPOINT_AREA_RANGES if keypoints else BOX_AREA_RANGES
    max_dets = KEYPOINT_MAX_DETECTIONS if keypoints else BOX_MAX_DETECTIONS
    image_ids = np.unique(np.asarray(image_ids, np.int64))
    category_ids = np.unique(np.asarray(category_ids, np.int64))
    ranges = np.array(list(area_ranges.values()), np.float64)

    gt = _index(groundtruth, image_ids, category_ids, sort_key=None)
    dt = _index(detections, image_ids, category_ids, sort_key=-np.asarray(detections["score"], np.float64))
    keep = dt["rank"] < max_dets[-1]
    dt = {k: (v[keep] if isinstance(v, np.ndarray) else [v[i] for i in np.flatnonzero(keep)]) for k, v in dt.items()}

    gt_ignore = np.asarray(gt["iscrowd"], bool)
    if keypoints:
        gt_ignore = gt_ignore | (np.asarray(gt["num_keypoints"]) == 0)
    gt_area = np.asarray(gt["area"], np.float64)
    # [N, A]: pycocotools' per-range ``_ignore`` flag (bounds are inclusive).
    gt_ignore_a = gt_ignore[:, None] | (gt_area[:, None] < ranges[:, 0]) | (gt_area[:, None] > ranges[:, 1])
    dt_area = np.asarray(dt["area"], np.float64)
    dt_outside_a = (dt_area[:, None] < ranges[:, 0]) | (dt_area[:, None] > ranges[:, 1])

    iou_fn = _iou_function(iou_type, gt, dt, keypoint_sigmas)
    matched, matched_ignored = match.match_pairs(gt, dt, gt_ignore_a, iou_fn)
    tp = matched & ~matched_ignored
    fp = ~matched & ~dt_outside_a[:, :, None]
    # Non-ignored ground truth per category and area range.
    npig = np.zeros((len(category_ids), len(ranges)), np.int64)
    np.add.at(npig, gt["cat"], ~gt_ignore_a)

    precision, recall = _accumulate(dt, tp, fp, npig, max_dets)
    stats = _summarize(precision, recall, list(area_ranges), max_dets, keypoints)
    return {
        "stats": stats,
        "precision": precision,
        "recall": recall,
        "category_ids": category_ids,
        "area_ranges": dict(area_ranges),
        "max_detections": max_dets,
    }


def match_detections(groundtruth, detections, image_ids, category_ids, iou_thresholds=(0.5,)):
    """COCO's box matching of every detection, without a max-detections cut or area ranges.

    Args: as ``evaluate`` (``bbox`` arrays), with ``iou_thresholds`` [T].

    Returns:
        dict, per detection in input order: ``matched`` bool [N, T] (true
        positive or matched a crowd region), ``ignored`` bool [N, T] (matched
        a crowd region: neither true nor false positive) and ``evaluated``
        bool [N] (its category is among ``category_ids``); and
        ``num_groundtruth`` int [K], the non-crowd ground truth per category.
    """
    image_ids = np.unique(np.asarray(image_ids, np.int64))
    category_ids = np.unique(np.asarray(category_ids, np.int64))
    gt = _index(groundtruth, image_ids, category_ids, sort_key=None)
    dt = _index(detections, image_ids, category_ids, sort_key=-np.asarray(detections["score"], np.float64))
    crowd = np.asarray(gt["iscrowd"], bool)
    iou_fn = _iou_function("bbox", gt, dt, None)
    hit, hit_ignored = match.match_pairs(gt, dt, crowd[:, None], iou_fn, iou_thresholds)
    n, t = len(np.asarray(detections["score"])), hit.shape[2]
    out = {"matched": np.zeros((n, t), bool), "ignored": np.zeros((n, t), bool), "evaluated": np.zeros(n, bool)}
    out["matched"][dt["index"]] = hit[:, 0]
    out["ignored"][dt["index"]] = hit_ignored[:, 0]
    out["evaluated"][dt["index"]] = True
    out["num_groundtruth"] = np.bincount(gt["cat"][~crowd], minlength=len(category_ids))
    return out


def _index(annotations, image_ids, category_ids, sort_key):
    """Keeps known images/categories and orders by (category, image, key, original order)."""
    image = np.asarray(annotations["image_id"], np.int64).reshape(-1)
    category = np.asarray(annotations["category_id"], np.int64).reshape(-1)
    known = np.isin(category, category_ids)
    unknown_images = ~np.isin(image, image_ids)
    if np.any(unknown_images & known):
        raise ValueError("annotations refer to image ids that are not among the evaluated images")
    img = np.searchsorted(image_ids, image)
    cat = np.searchsorted(category_ids, category)
    original = np.arange(len(image))
    key = np.zeros(len(image)) if sort_key is None else sort_key
    order = np.lexsort((original, key, img, cat))
    order = order[known[order]]
    out = {}
    for name, value in annotations.items():
        if isinstance(value, list):
            out[name] = [value[i] for i in order]
        else:
            out[name] = np.asarray(value)[order]
    out["index"] = order
    out["img"] = img[order]
    out["cat"] = cat[order]
    pair = out["cat"] * len(image_ids) + out["img"]
    out["pair"] = pair
    starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]]) if len(pair) else np.zeros(0, np.int64)
    first = np.repeat(starts, np.diff(np.r_[starts, len(pair)]))
    out["rank"] = np.arange(len(pair)) - first
    return out


def _iou_function(iou_type, gt, dt, keypoint_sigmas):
    if iou_type == "bbox":
        return lambda d, g: match.box_iou(dt["bbox"], gt["bbox"], gt["iscrowd"], d, g)
    if iou_type == "segm":
        return lambda d, g: _mask_iou(dt["segmentation"], gt["segmentation"], gt["iscrowd"], d, g)
    sigmas = COCO_KEYPOINT_SIGMAS if keypoint_sigmas is None else np.asarray(keypoint_sigmas, np.float64)
    if np.asarray(gt["keypoints"]).shape[1:2] not in ((), (len(sigmas),)):
        raise ValueError(f"keypoints have {np.asarray(gt['keypoints']).shape[1]} joints but {len(sigmas)} sigmas")
    return lambda d, g: match.oks(dt["keypoints"], gt, sigmas, d, g)


def _mask_iou(dt_rles, gt_rles, iscrowd, dt_index, gt_index):
    """Exact pixel IoU of RLE masks per (image, category) pair, as ``maskUtils.iou``."""
    out = np.full(dt_index.shape + gt_index.shape[1:], -1.0)
    for p in range(len(dt_index)):
        d = dt_index[p][dt_index[p] >= 0]
        g = gt_index[p][gt_index[p] >= 0]
        dm = mask_utils.decode([dt_rles[i] for i in d])
        gm = mask_utils.decode([gt_rles[i] for i in g])
        both = np.concatenate([dm, gm], axis=2)
        rows = np.flatnonzero(both.any(axis=(1, 2)))
        cols = np.flatnonzero(both.any(axis=(0, 2)))
        if len(rows) == 0:
            out[p, : len(d), : len(g)] = 0.0
            continue
        # Counts are exact in float32 below 2**24 pixels; float64 above.
        crop = both[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        dtype = np.float32 if crop.shape[0] * crop.shape[1] < 2**24 else np.float64
        flat = crop.reshape(-1, crop.shape[2]).astype(dtype)
        inter = (flat[:, : len(d)].T @ flat[:, len(d) :]).astype(np.float64)
        area_d = flat[:, : len(d)].sum(axis=0, dtype=np.float64)
        area_g = flat[:, len(d) :].sum(axis=0, dtype=np.float64)
        crowd = np.asarray(iscrowd, bool)[g][None, :]
        union = np.where(crowd, area_d[:, None], area_d[:, None] + area_g[None, :] - inter)
        out[p, : len(d), : len(g)] = np.where(inter > 0, inter / np.where(inter > 0, union, 1.0), 0.0)
    return out


def _accumulate(dt, tp, fp, npig, max_dets):
    """Precision [T, R, K, A, M] and recall [T, K, A, M], as ``COCOeval.accumulate``."""
    num_t, num_r = len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS)
    num_k, num_a = npig.shape
    precision = -np.ones((num_t, num_r, num_k, num_a, len(max_dets)))
    recall = -np.ones((num_t, num_k, num_a, len(max_dets)))
    # Score order across images; ties keep image order, then the order inside the image.
    order = np.lexsort((dt["rank"], dt["img"], -np.asarray(dt["score"], np.float64), dt["cat"]))
    tp, fp, rank = tp[order], fp[order], dt["rank"][order]
    bounds = np.searchsorted(dt["cat"][order], np.arange(num_k + 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(num_k):
            if not np.any(npig[k]):
                continue
            segment = slice(bounds[k], bounds[k + 1])
            for m, max_det in enumerate(max_dets):
                tp_k, fp_k = tp[segment], fp[segment]
                if max_det < max_dets[-1]:  # detections are already cut at the largest
                    keep = rank[segment] < max_det
                    tp_k, fp_k = tp_k[keep], fp_k[keep]
                precision[:, :, k, :, m], recall[:, k, :, m] = _curve(tp_k, fp_k, npig[k])
    return precision, recall


def _curve(tp, fp, npig):
    """Interpolated precision [T, R, A] and final recall [T, A] of one category."""
    num_a, num_t = npig.shape[0], tp.shape[2]
    n = len(tp)
    tp_sum = np.cumsum(tp, axis=0, dtype=np.float64)  # [n, A, T]
    fp_sum = np.cumsum(fp, axis=0, dtype=np.float64)
    rc = tp_sum / npig[None, :, None]
    pr = tp_sum / (fp_sum + tp_sum + np.spacing(1))
    # Precision envelope: the best precision at any higher recall.
    pr = np.maximum.accumulate(pr[::-1], axis=0)[::-1]
    q = np.zeros((num_t, len(RECALL_THRESHOLDS), num_a))
    last = np.zeros((num_t, num_a)) if n == 0 else rc[-1].T
    for a in range(num_a):
        if npig[a] == 0:
            q[:, :, a] = -1
            last[:, a] = -1
            continue
        for t in range(num_t):
            inds = np.searchsorted(rc[:, a, t], RECALL_THRESHOLDS, side="left")
            valid = inds < n
            q[t, valid, a] = pr[inds[valid], a, t]
    return q, last


def _summarize(precision, recall, area_names, max_dets, keypoints):
    """The summary numbers of ``COCOeval.summarize``, without printing."""

    def mean(ap, iou=None, area="all", max_det=100):
        a = [i for i, name in enumerate(area_names) if name == area]
        m = [i for i, value in enumerate(max_dets) if value == max_det]
        s = precision if ap else recall
        if iou is not None:
            s = s[np.where(iou == IOU_THRESHOLDS)[0]]
        s = s[:, :, :, a, m] if ap else s[:, :, a, m]
        return -1.0 if len(s[s > -1]) == 0 else float(np.mean(s[s > -1]))

    if keypoints:
        return np.array(
            [mean(1, max_det=20), mean(1, 0.5, max_det=20), mean(1, 0.75, max_det=20)]
            + [mean(1, area=a, max_det=20) for a in ("medium", "large")]
            + [mean(0, max_det=20), mean(0, 0.5, max_det=20), mean(0, 0.75, max_det=20)]
            + [mean(0, area=a, max_det=20) for a in ("medium", "large")]
        )
    return np.array(
        [mean(1), mean(1, 0.5), mean(1, 0.75)]
        + [mean(1, area=a) for a in ("small", "medium", "large")]
        + [mean(0, max_det=d) for d in max_dets]
        + [mean(0, area=a) for a in ("small", "medium", "large")]
    )


def stats_dict(stats, iou_type="bbox"):
    """Names the summary numbers: ``BOX_STAT_NAMES`` or ``KEYPOINT_STAT_NAMES``."""
    names = KEYPOINT_STAT_NAMES if iou_type == "keypoints" else BOX_STAT_NAMES
    return {name: float(value) for name, value in zip(names, stats)}
