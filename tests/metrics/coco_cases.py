"""Randomized COCO evaluation cases for the agreement tests, and the reference runner.

Cases are built to reach every corner pycocotools handles: category id 0,
non-contiguous category ids, unordered image ids, images without ground
truth and without detections, crowd regions, objects of every area range,
duplicate objects, detections near objects (right and wrong class), random
detections, exact duplicates, tied scores, more than 100 detections in an
image, and results listed in shuffled order.
"""

import contextlib
import copy
import io

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

NUM_JOINTS = 17


def reference(dataset, results, iou_type):
    """pycocotools' COCOeval, quiet: (stats, precision, recall)."""
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = copy.deepcopy(dataset)
        gt.createIndex()
        dt = gt.loadRes(copy.deepcopy(results))
        evaluator = COCOeval(gt, dt, iou_type)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return np.asarray(evaluator.stats), evaluator.eval["precision"], evaluator.eval["recall"]


def _box(rng, height, width, grid):
    w = float(np.exp(rng.uniform(np.log(3), np.log(width * 0.9))))
    h = float(np.exp(rng.uniform(np.log(3), np.log(height * 0.9))))
    box = [float(rng.uniform(0, width - w)), float(rng.uniform(0, height - h)), w, h]
    return _snap(box) if grid else box


def _snap(box):
    """Coordinates on an 8 px grid: IoUs tie exactly and land exactly on thresholds."""
    return [float(max(8 * round(v / 8), 8 if i >= 2 else 0)) for i, v in enumerate(box)]


def _rect_mask(box, height, width, rng, keep=0.85):
    x, y, w, h = box
    mask = np.zeros((height, width), np.uint8)
    mask[int(y) : int(np.ceil(y + h)), int(x) : int(np.ceil(x + w))] = 1
    return mask & (rng.random((height, width)) < keep).astype(np.uint8)


def _rle(mask):
    rle = mask_utils.encode(np.asfortranarray(mask))
    return {"size": list(rle["size"]), "counts": rle["counts"].decode("ascii")}


def random_coco(seed, iou_type="bbox", num_images=30, num_categories=5, max_detections=15, grid=False):
    """A random COCO dataset dict and results list for ``iou_type``.

    With ``grid``, boxes lie on an 8 px grid and box areas are exact (so
    areas also fall on the 32**2 and 96**2 range bounds).
    """
    rng = np.random.default_rng(seed)
    category_ids = [0] + sorted(rng.choice(np.arange(1, 40), num_categories - 1, replace=False).tolist())
    image_ids = rng.choice(10**6, num_images, replace=False).tolist()
    dataset = {"images": [], "annotations": [], "categories": [{"id": c, "name": f"c{c}"} for c in category_ids]}
    results = []
    for n, image_id in enumerate(image_ids):
        height, width = int(rng.integers(40, 360)), int(rng.integers(40, 360))
        dataset["images"].append({"id": image_id, "height": height, "width": width})
        objects = []
        for _ in range(int(rng.integers(0, 8)) if n % 7 else 0):
            box, crowd = _box(rng, height, width, grid), bool(rng.random() < 0.12)
            ann = {"id": len(dataset["annotations"]) + 1, "image_id": image_id, "bbox": box, "iscrowd": int(crowd),
                   "category_id": int(rng.choice(category_ids))}
            if iou_type == "segm":
                mask = _rect_mask(box, height, width, rng)
                x, y, w, h = box
                ann["segmentation"] = (_uncompressed(mask) if crowd else
                                       [[x, y, x + w, y + h * 0.3, x + w * 0.7, y + h, x, y + h]])
                ann["area"] = float(mask_utils.area(_gt_rle(ann, height, width)))
            elif grid:
                ann["area"] = box[2] * box[3]
            else:
                # Sometimes exactly on a range bound: the bounds are inclusive.
                on_bound = rng.random() < 0.1
                ann["area"] = float(rng.choice([32**2, 96**2])) if on_bound else box[2] * box[3] * rng.uniform(0.5, 1)
            if iou_type == "keypoints":
                xy = np.array(box[:2]) + rng.random((NUM_JOINTS, 2)) * box[2:]
                v = rng.choice([0, 1, 2], NUM_JOINTS, p=[0.3, 0.2, 0.5]) * (rng.random() > 0.15)
                ann["keypoints"] = np.concatenate([xy, v[:, None]], 1).reshape(-1).tolist()
                ann["num_keypoints"] = int(np.count_nonzero(v))
            dataset["annotations"].append(ann)
            objects.append(ann)
            if rng.random() < 0.08:  # an exact duplicate object: detections see equal IoUs
                dataset["annotations"].append(dict(ann, id=len(dataset["annotations"]) + 1))
        # Image 1 gets 130 detections of one category: more than maxDets.
        count = 130 if n == 1 else (int(rng.integers(0, max_detections)) if n % 5 else 0)
        for _ in range(count):
            source = objects[int(rng.integers(len(objects)))] if objects and rng.random() < 0.7 else None
            if source:
                box = (np.array(source["bbox"]) * (1 + rng.normal(0, 0.12, 4))).tolist()
                box = _snap(box) if grid else box
            else:
                box = _box(rng, height, width, grid)
            category = (source["category_id"] if source and rng.random() < 0.8 else int(rng.choice(category_ids)))
            category = category_ids[0] if n == 1 else category
            result = {"image_id": image_id, "category_id": category, "score": float(np.round(rng.random(), 2))}
            if iou_type == "bbox":
                result["bbox"] = box
            elif iou_type == "segm":
                result["segmentation"] = _rle(_rect_mask(box, height, width, rng, keep=0.9))
            else:
                base = np.array(source["keypoints"]).reshape(-1, 3)[:, :2] if source else (
                    np.array(box[:2]) + rng.random((NUM_JOINTS, 2)) * box[2:])
                xy = base + rng.normal(0, 0.05 * np.sqrt(box[2] * box[3]) + 0.5, base.shape)
                result["keypoints"] = np.concatenate([xy, np.ones((NUM_JOINTS, 1))], 1).reshape(-1).tolist()
            results.append(result)
            if rng.random() < 0.1:
                results.append(copy.deepcopy(result))
    order = rng.permutation(len(results))
    return dataset, [results[i] for i in order]


def _uncompressed(mask):
    flat = mask.reshape(-1, order="F")
    changes = np.flatnonzero(np.diff(np.r_[0, flat, 1 - flat[-1]]))
    counts = np.diff(np.r_[0, changes]).tolist()
    return {"size": list(mask.shape), "counts": counts}


def _gt_rle(ann, height, width):
    segm = ann["segmentation"]
    if isinstance(segm, list):
        return mask_utils.merge(mask_utils.frPyObjects(segm, height, width))
    return mask_utils.frPyObjects(segm, height, width)


def random_elements(seed, num_images=20, num_classes=4, joints=NUM_JOINTS, max_detections=12):
    """Random kzoo elements and padded prediction dicts with masks and keypoints."""
    rng = np.random.default_rng(seed)
    elements, predictions = [], []
    for i in range(num_images):
        height, width = int(rng.integers(24, 200)), int(rng.integers(24, 200))
        m = int(rng.integers(0, 6)) if i % 6 else 0
        size = np.exp(rng.uniform(np.log(0.05), np.log(0.9), (m, 2)))
        corner = rng.random((m, 2)) * (1 - size)
        boxes = np.concatenate([corner, corner + size], 1).astype(np.float32)
        xywh = [[b[1] * width, b[0] * height, (b[3] - b[1]) * width, (b[2] - b[0]) * height] for b in boxes]
        masks = np.zeros((m, height, width), np.uint8)
        for j, box in enumerate(xywh):
            masks[j] = _rect_mask(box, height, width, rng)
        visible = rng.choice([0, 1, 2], (m, joints, 1), p=[0.3, 0.2, 0.5]).astype(np.float32)
        keypoints = np.concatenate([corner[:, None] + rng.random((m, joints, 2)) * size[:, None], visible], -1)
        classes = rng.integers(0, num_classes, m).astype(np.int32)
        elements.append({"image": np.zeros((height, width, 3), np.uint8), "boxes": boxes, "classes": classes,
                         "masks": masks, "keypoints": keypoints.astype(np.float32),
                         "is_crowd": rng.random(m) < 0.12, "image_id": np.int64(5000 - 3 * i)})
        k = int(rng.integers(0, max_detections)) if i % 4 else 0
        det_boxes = rng.random((k, 4))
        det_boxes[:, 2:] = det_boxes[:, :2] + rng.random((k, 2)) * (1 - det_boxes[:, :2])
        det_classes = rng.integers(0, num_classes, k)
        det_points = rng.random((k, joints, 2))
        if m:
            near = rng.random(k) < 0.7
            source = rng.integers(0, m, k)[near]
            det_boxes[near] = boxes[source] + rng.normal(0, 0.03, (near.sum(), 4))
            det_classes[near] = np.where(rng.random(near.sum()) < 0.85, classes[source], det_classes[near])
            det_points[near] = keypoints[source, :, :2] + rng.normal(0, 0.02, (near.sum(), joints, 2))
        scores = np.round(rng.random(k), 1)
        pad = 3  # padded outputs: only the first num_detections count
        predictions.append({
            "detection_boxes": np.concatenate([det_boxes, rng.random((pad, 4))]).astype(np.float32),
            "detection_scores": np.concatenate([scores, np.ones(pad)]).astype(np.float32),
            "detection_classes": np.concatenate([det_classes, np.zeros(pad)]).astype(np.float32),
            "num_detections": np.int32(k),
            "detection_masks": (rng.random((k + pad, 14, 14)) * 0.4 + 0.35).astype(np.float32),
            "detection_keypoints": np.concatenate([det_points, rng.random((pad, joints, 2))]).astype(np.float32),
            "detection_keypoint_scores": np.ones((k + pad, joints), np.float32),
        })
    return elements, predictions
