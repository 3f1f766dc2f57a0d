"""COCO evaluation of kzoo elements and predictions: one entry point, two backends.

``backend="pycocotools"`` writes COCO json (``kzoo.data.coco``) and runs the
reference ``COCOeval``; ``backend="fast"`` runs kzoo's vectorized evaluator
(``kzoo.metrics.fast_coco``) on the same numbers, without json. Both read
boxes, areas and masks through the same conversion, so they agree to
floating-point round-off.
"""

import contextlib
import copy
import io

import numpy as np
from pycocotools import mask as mask_utils

from kzoo.data import coco
from kzoo.metrics import fast_coco

BACKENDS = ("fast", "pycocotools")


def coco_evaluate(groundtruth, predictions, iou_type="bbox", backend="fast", categories=None, keypoint_sigmas=None):
    """COCO mAP and recall of predictions against ground truth.

    Args:
        groundtruth: list of dataset elements (docs/design.md, "The dataset
            element"; each with ``image`` or ``height``/``width`` for the
            size, optional ``is_crowd``, ``area``, ``masks``, ``keypoints``,
            ``image_id``), or batched
            element dicts (rows with class -1 are padding).
        predictions: prediction dicts in the same order: one per image, or
            batched; only the first ``num_detections`` count.
            ``detection_masks`` are box-relative probabilities (pasted and
            thresholded at 0.5), ``detection_keypoints`` normalized (y, x).
        iou_type: ``"bbox"``, ``"segm"`` or ``"keypoints"``.
        backend: ``"fast"`` or ``"pycocotools"``.
        categories: COCO category dicts in class order (``coco_categories``);
            by default class ``c`` is category ``c + 1``.
        keypoint_sigmas: OKS sigmas per joint; COCO's 17 by default.

    Returns:
        A dict of floats: ``AP`` (mAP@[0.5:0.95]), ``AP50``, ``AP75``,
        ``APs``, ``APm``, ``APl``, ``AR1``, ``AR10``, ``AR100``, ``ARs``,
        ``ARm``, ``ARl``; for keypoints COCO's keypoint summary instead
        (``AP``, ``AP50``, ``AP75``, ``APm``, ``APl``, ``AR``, ``AR50``,
        ``AR75``, ``ARm``, ``ARl``). A number is -1 where no ground truth
        defines it (as pycocotools prints); with ground truth but no
        predictions it is 0.

    Example:
        >>> gt = [{"height": 100, "width": 100, "boxes": np.array([[0.1, 0.1, 0.5, 0.5]]),
        ...        "classes": np.array([0])}]
        >>> pred = [{"detection_boxes": np.array([[0.1, 0.1, 0.5, 0.5]]),
        ...          "detection_scores": np.array([0.9]), "detection_classes": np.array([0])}]
        >>> coco_evaluate(gt, pred)["AP"]
        1.0
    """
    return coco_evaluation(groundtruth, predictions, iou_type, backend, categories, keypoint_sigmas)["stats"]


def coco_evaluation(groundtruth, predictions, iou_type="bbox", backend="fast", categories=None, keypoint_sigmas=None):
    """``coco_evaluate`` with the details: ``stats``, ``precision`` [T, R, K, A, M],
    ``recall`` [T, K, A, M], ``category_ids`` and ``per_class_ap`` (AP@[0.5:0.95]
    per category id, -1 without ground truth)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    elements = unbatch(groundtruth, "boxes")
    predictions = unbatch(predictions, "detection_boxes")
    if len(elements) != len(predictions):
        raise ValueError(f"{len(elements)} ground-truth elements but {len(predictions)} predictions")
    if not elements:
        raise ValueError("evaluation needs at least one ground-truth element")
    if iou_type == "keypoints":
        joints = {np.shape(e["keypoints"])[-2] for e in elements if "keypoints" in e}
        sigmas = len(fast_coco.COCO_KEYPOINT_SIGMAS) if keypoint_sigmas is None else len(keypoint_sigmas)
        if joints - {sigmas}:
            raise ValueError(f"keypoints have {sorted(joints)} joints but there are {sigmas} OKS sigmas; "
                             "pass keypoint_sigmas (COCO's 17 are the default)")
    if categories is None:
        largest = max(int(np.max(np.asarray(e["classes"]), initial=-1)) for e in elements)
        categories = coco.default_categories(largest + 1)
    if backend == "pycocotools":
        dataset = coco.groundtruth_to_coco(elements, categories, iou_type)
        results = coco.predictions_to_coco(predictions, elements, categories, iou_type)
        return _pycocotools(dataset, results, iou_type, keypoint_sigmas)
    gt, dt = coco_arrays(elements, predictions, iou_type, categories)
    ids = [c["id"] for c in categories]
    return _finish(fast_coco.evaluate(gt, dt, coco.image_ids(elements), ids, iou_type, keypoint_sigmas), iou_type)


def coco_evaluate_json(dataset, results, iou_type="bbox", backend="fast", keypoint_sigmas=None):
    """``coco_evaluation`` of a COCO dataset (dict or path) and results list (or path)."""
    dataset = coco.load_coco_json(dataset)
    results = coco.load_coco_json(results) if isinstance(results, str) else results
    if backend == "pycocotools":
        return _pycocotools(dataset, results, iou_type, keypoint_sigmas)
    if backend != "fast":
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    gt, dt, image_ids, category_ids = coco_arrays_from_json(dataset, results, iou_type)
    return _finish(fast_coco.evaluate(gt, dt, image_ids, category_ids, iou_type, keypoint_sigmas), iou_type)


def unbatch(items, key):
    """A list of per-image dicts from one dict, a list of dicts, or a mix of batched dicts.

    A dict is batched when ``key`` has rank 3 (``[N, K, 4]``); it is split on
    its first axis. Tensors become NumPy arrays.
    """
    if isinstance(items, dict):
        items = [items]
    out = []
    for item in items:
        item = {k: np.asarray(v) for k, v in item.items()}
        if item[key].ndim == 3:
            out.extend({k: v[i] for k, v in item.items()} for i in range(len(item[key])))
        else:
            out.append(item)
    return out


def coco_arrays(elements, predictions, iou_type, categories):
    """Flat ground-truth and detection arrays for ``fast_coco.evaluate``.

    Detections of classes without a category are left out (pycocotools
    leaves them out too); a ground-truth class without one is an error.
    """
    ids = np.array([c["id"] for c in categories], np.int64)
    gts, dts = [], []
    for image_id, element, prediction in zip(coco.image_ids(elements), elements, predictions):
        g = coco.groundtruth_arrays(element, with_masks=iou_type == "segm")
        if iou_type == "keypoints" and "keypoints" not in g:
            raise ValueError("keypoint evaluation needs 'keypoints' in every ground-truth element")
        if len(g["classes"]) and g["classes"].max() >= len(ids):
            raise ValueError(f"class {g['classes'].max()} has no category (there are {len(ids)})")
        d = coco.prediction_arrays(prediction, *coco.image_size(element), iou_type=iou_type)
        known = d["classes"] < len(ids)
        d = {k: (v[known] if isinstance(v, np.ndarray) else [r for r, ok in zip(v, known) if ok]) for k, v in d.items()}
        g["image_id"] = np.full(len(g["classes"]), image_id, np.int64)
        d["image_id"] = np.full(len(d["classes"]), image_id, np.int64)
        gts.append(g)
        dts.append(d)
    return _concat(gts, ids), _concat(dts, ids)


def _concat(parts, ids):
    out = {}
    for name in parts[0]:
        values = [p[name] for p in parts]
        out[name] = [r for v in values for r in v] if isinstance(values[0], list) else np.concatenate(values)
    out["category_id"] = ids[out.pop("classes")]
    if "bbox" in out:
        out["bbox"] = out["bbox"].reshape(-1, 4)
    return out


def coco_arrays_from_json(dataset, results, iou_type="bbox"):
    """Flat arrays from a COCO dataset dict and a results list, read as pycocotools reads them.

    Returns ``(groundtruth, detections, image_ids, category_ids)`` for
    ``evaluate``. Detection areas follow ``COCO.loadRes``: box area for box
    results, mask area for mask results, the keypoints' extent for keypoint
    results.
    """
    images = {img["id"]: img for img in dataset["images"]}
    anns = dataset.get("annotations", [])
    gt = _json_arrays(anns, iou_type, images)
    gt["iscrowd"] = np.array([bool(a.get("iscrowd", 0)) for a in anns], bool)
    gt["area"] = np.array([a["area"] for a in anns], np.float64)
    if iou_type == "keypoints":
        gt["num_keypoints"] = np.array([a["num_keypoints"] for a in anns], np.int64)
    dt = _json_arrays(results, iou_type, images, results=True)
    dt["score"] = np.array([r["score"] for r in results], np.float64)
    return gt, dt, sorted(images), sorted(c["id"] for c in dataset["categories"])


def _json_arrays(anns, iou_type, images, results=False):
    out = {
        "image_id": np.array([a["image_id"] for a in anns], np.int64),
        "category_id": np.array([a["category_id"] for a in anns], np.int64),
    }
    kind = None
    if results and anns:
        # COCO.loadRes decides the result type from the first result.
        kind = "bbox" if "bbox" in anns[0] and anns[0]["bbox"] != [] else (
            "segm" if "segmentation" in anns[0] else "keypoints")
    if iou_type == "segm" or kind == "segm":
        rles = []
        for a in anns:
            image = images[a["image_id"]]
            if "segmentation" in a:
                segm = a["segmentation"]
            else:  # loadRes gives box results their box as a polygon
                x, y, w, h = a["bbox"]
                segm = [[x, y, x, y + h, x + w, y + h, x + w, y]]
            if isinstance(segm, list):
                segm = mask_utils.merge(mask_utils.frPyObjects(segm, image["height"], image["width"]))
            elif isinstance(segm["counts"], list):
                segm = mask_utils.frPyObjects(segm, image["height"], image["width"])
            rles.append(segm)
        out["segmentation"] = rles
    if iou_type == "keypoints" or kind == "keypoints":
        out["keypoints"] = np.array([a["keypoints"] for a in anns], np.float64).reshape(len(anns), -1, 3)
    if kind == "segm" and anns and "bbox" not in anns[0]:
        out["bbox"] = np.array([mask_utils.toBbox(r) for r in out["segmentation"]], np.float64).reshape(-1, 4)
    else:
        out["bbox"] = np.array([a.get("bbox", [0.0] * 4) for a in anns], np.float64).reshape(-1, 4)
    if kind == "bbox":
        out["area"] = out["bbox"][:, 2] * out["bbox"][:, 3]
    elif kind == "segm":
        # One RLE at a time, as loadRes does (pycocotools' list form fails from 256 RLEs on with NumPy 2).
        out["area"] = np.array([mask_utils.area(r) for r in out["segmentation"]], np.float64)
    elif kind == "keypoints":
        xs, ys = out["keypoints"][..., 0], out["keypoints"][..., 1]
        out["area"] = (xs.max(1) - xs.min(1)) * (ys.max(1) - ys.min(1))
    elif results:
        out["area"] = np.zeros(0)
    return out


def _pycocotools(dataset, results, iou_type, keypoint_sigmas):
    """The reference ``COCOeval``, printing nothing."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = copy.deepcopy(dataset)
        gt.createIndex()
        if results:
            dt = gt.loadRes(copy.deepcopy(results))
        else:
            # loadRes cannot read an empty list; an empty result set is still a valid one.
            dt = COCO()
            dt.dataset = {"images": gt.dataset["images"], "categories": gt.dataset["categories"], "annotations": []}
            dt.createIndex()
        evaluator = COCOeval(gt, dt, iou_type)
        if keypoint_sigmas is not None:
            evaluator.params.kpt_oks_sigmas = np.asarray(keypoint_sigmas, np.float64)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return _finish(
        {
            "stats": np.asarray(evaluator.stats),
            "precision": evaluator.eval["precision"],
            "recall": evaluator.eval["recall"],
            "category_ids": np.asarray(evaluator.params.catIds),
        },
        iou_type,
    )


def _finish(result, iou_type):
    precision = result["precision"][:, :, :, 0, -1]
    per_class = {}
    for k, category_id in enumerate(result["category_ids"]):
        values = precision[:, :, k]
        per_class[int(category_id)] = float(np.mean(values[values > -1])) if np.any(values > -1) else -1.0
    return {
        "stats": fast_coco.stats_dict(result["stats"], iou_type),
        "precision": result["precision"],
        "recall": result["recall"],
        "category_ids": np.asarray(result["category_ids"]),
        "per_class_ap": per_class,
    }
