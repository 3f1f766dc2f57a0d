"""Vectorized matching of detections to ground truth, as ``COCOeval.evaluateImg``.

pycocotools matches one (image, category, area range, IoU threshold) at a
time: detections in score order, each taking the best still-free ground truth
with IoU >= threshold, preferring regular ground truth over ignored ground
truth, the last one on equal IoU. The greedy order forbids vectorizing over
the detections of one pair, but every pair, area range and threshold is
independent, so this module loops over the detection rank only and handles
all pairs of a size bucket, all area ranges and all thresholds at once.

IoU (boxes) and OKS (keypoints) repeat pycocotools' floating-point operations
in the same order, so a detection sits on the same side of a threshold.
"""

import numpy as np

IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)


def match_pairs(gt, dt, gt_ignore, iou_fn, thresholds=IOU_THRESHOLDS):
    """Matches every detection at every area range and IoU threshold.

    Args:
        gt: indexed ground truth (``pair`` sorted, ``iscrowd``).
        dt: indexed detections (``pair`` sorted, score order inside a pair).
        gt_ignore: bool [N_gt, A], the ignore flag of each ground truth per
            area range.
        iou_fn: ``iou_fn(dt_index [P, D], gt_index [P, G]) -> [P, D, G]``,
            a negative value where an index is -1 (padding).
        thresholds: the T IoU thresholds (COCO's ten by default).

    Returns:
        ``(matched, matched_ignored)``, bool [N_dt, A, T]: whether the
        detection matched, and whether what it matched is ignored ground truth.
    """
    thresholds = np.asarray(thresholds, np.float64).reshape(-1)
    num_a, num_t = gt_ignore.shape[1], len(thresholds)
    matched = np.zeros((len(dt["pair"]), num_a, num_t), bool)
    matched_ignored = np.zeros_like(matched)
    gt_pairs, gt_start, gt_count = np.unique(gt["pair"], return_index=True, return_counts=True)
    dt_pairs, dt_start, dt_count = np.unique(dt["pair"], return_index=True, return_counts=True)
    _, gi, di = np.intersect1d(gt_pairs, dt_pairs, assume_unique=True, return_indices=True)
    n_g, g0 = gt_count[gi], gt_start[gi]
    n_d, d0 = dt_count[di], dt_start[di]
    # Buckets of similar sizes keep the padding below 2x on each axis.
    bucket = _ceil_log2(n_d) * 64 + _ceil_log2(n_g)
    iscrowd = np.asarray(gt["iscrowd"], bool)
    for b in np.unique(bucket):
        sel = np.flatnonzero(bucket == b)
        d_index = _padded_range(d0[sel], n_d[sel])
        g_index = _padded_range(g0[sel], n_g[sel])
        ious = iou_fn(d_index, g_index)
        g_safe = np.maximum(g_index, 0)
        hit, hit_ignored = _greedy(ious, gt_ignore[g_safe].transpose(0, 2, 1), iscrowd[g_safe], thresholds)
        valid = d_index >= 0
        matched[d_index[valid]] = hit[valid]
        matched_ignored[d_index[valid]] = hit_ignored[valid]
    return matched, matched_ignored


def _ceil_log2(n):
    return np.ceil(np.log2(np.maximum(n, 1))).astype(np.int64)


def _padded_range(start, count):
    width = int(count.max())
    index = start[:, None] + np.arange(width)
    return np.where(np.arange(width) < count[:, None], index, -1)


def _greedy(ious, ignore, crowd, thresholds):
    """Greedy matching of ``ious`` [P, D, G] for ``ignore`` [P, A, G], ``crowd`` [P, G].

    Returns ``(hit, hit_ignored)``, bool [P, D, A, T].
    """
    num_p, num_d, num_g = ious.shape
    num_a, num_t = ignore.shape[1], len(thresholds)
    threshold = np.minimum(thresholds, 1 - 1e-10)[None, None, :, None]
    ignore = ignore[:, :, None, :]
    crowd = crowd[:, None, None, :]
    taken = np.zeros((num_p, num_a, num_t, num_g), bool)
    hit = np.zeros((num_p, num_d, num_a, num_t), bool)
    hit_ignored = np.zeros_like(hit)
    columns = np.arange(num_g)
    for r in range(num_d):
        iou = ious[:, r, None, None, :]
        above = iou >= threshold
        regular = above & ~ignore & ~taken
        # Crowd regions may absorb any number of detections.
        ignored = above & ignore & (crowd | ~taken)
        has_regular = regular.any(-1)
        has_ignored = ignored.any(-1)
        candidates = np.where(has_regular[..., None], regular, ignored)
        scores = np.where(candidates, iou, -np.inf)
        # pycocotools replaces its match on equal IoU: the last best one wins.
        best = num_g - 1 - np.argmax(scores[..., ::-1], axis=-1)
        found = has_regular | has_ignored
        taken |= (columns == best[..., None]) & found[..., None]
        hit[:, r] = found
        hit_ignored[:, r] = ~has_regular & has_ignored
    return hit, hit_ignored


def box_iou(dt_boxes, gt_boxes, iscrowd, dt_index, gt_index):
    """IoU of COCO ``[x, y, w, h]`` boxes, as pycocotools' ``bbIou``; -1 at padding.

    Crowd ground truth uses the detection's area as the union.
    """
    d = np.asarray(dt_boxes, np.float64)[np.maximum(dt_index, 0)][:, :, None, :]
    g = np.asarray(gt_boxes, np.float64)[np.maximum(gt_index, 0)][:, None, :, :]
    crowd = np.asarray(iscrowd, bool)[np.maximum(gt_index, 0)][:, None, :]
    dx, dy, dw, dh = (d[..., i] for i in range(4))
    gx, gy, gw, gh = (g[..., i] for i in range(4))
    w = np.minimum(dw + dx, gw + gx) - np.maximum(dx, gx)
    h = np.minimum(dh + dy, gh + gy) - np.maximum(dy, gy)
    inter = w * h
    det_area = dw * dh
    union = np.where(crowd, det_area, det_area + gw * gh - inter)
    overlap = (w > 0) & (h > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(overlap, inter / np.where(overlap, union, 1.0), 0.0)
    return np.where((dt_index[:, :, None] >= 0) & (gt_index[:, None, :] >= 0), iou, -1.0)


def oks(dt_keypoints, gt, sigmas, dt_index, gt_index):
    """Object keypoint similarity, as ``COCOeval.computeOks``; -1 at padding.

    Ground truth without labeled keypoints measures the distance to a region
    of twice its box in each direction, as pycocotools does.
    """
    variances = (sigmas * 2) ** 2
    d = np.asarray(dt_keypoints, np.float64)[np.maximum(dt_index, 0)][:, :, None]  # [P, D, 1, J, 3]
    g_safe = np.maximum(gt_index, 0)
    g = np.asarray(gt["keypoints"], np.float64)[g_safe][:, None]  # [P, 1, G, J, 3]
    box = np.asarray(gt["bbox"], np.float64)[g_safe][:, None, :, None, :]  # [P, 1, G, 1, 4]
    area = np.asarray(gt["area"], np.float64)[g_safe][:, None, :, None]
    xd, yd = d[..., 0], d[..., 1]
    xg, yg, vg = g[..., 0], g[..., 1], g[..., 2]
    labeled = vg > 0
    any_labeled = labeled.sum(-1, keepdims=True) > 0
    x0 = box[..., 0] - box[..., 2]
    x1 = box[..., 0] + box[..., 2] * 2
    y0 = box[..., 1] - box[..., 3]
    y1 = box[..., 1] + box[..., 3] * 2
    dx = np.where(any_labeled, xd - xg, np.maximum(0, x0 - xd) + np.maximum(0, xd - x1))
    dy = np.where(any_labeled, yd - yg, np.maximum(0, y0 - yd) + np.maximum(0, yd - y1))
    e = (dx**2 + dy**2) / variances / (area + np.spacing(1)) / 2
    used = labeled | ~any_labeled
    similarity = np.sum(np.where(used, np.exp(-e), 0.0), axis=-1) / used.sum(-1)
    return np.where((dt_index[:, :, None] >= 0) & (gt_index[:, None, :] >= 0), similarity, -1.0)
