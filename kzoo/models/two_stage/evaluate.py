"""COCO evaluation of instance segmentation and keypoint detection: boxes plus masks, or plus joints.

A model of these task families is judged twice per image: its boxes as a
detector (COCO box AP), and its masks (segm AP: mask IoU, the box-relative
masks pasted into the image) or its joints (keypoint AP: object keypoint
similarity with the dataset's per-joint sigmas, ``DatasetInfo.keypoint_sigmas``).
Both backends give the same numbers: ``"pycocotools"`` (the reference) and
``"fast"`` (kzoo's evaluator).
"""

from kzoo.metrics import coco_evaluation
from kzoo.models.detection.evaluate import categories
from kzoo.models.detection.evaluate import evaluate as evaluate_boxes


def _prefixed(prefix, result, class_names):
    values = {f"{prefix}_{name}": value for name, value in result["stats"].items()}
    values[f"{prefix}_per_class_AP"] = {str(n): result["per_class_ap"][c + 1] for c, n in enumerate(class_names)}
    return values


def evaluate_instance_segmentation(elements, predictions, info, backend="pycocotools"):
    """COCO box and mask metrics.

    Args:
        elements: dataset elements with ``masks``, one per image.
        predictions: prediction dicts with ``detection_masks`` (box-relative
            probabilities, pasted and thresholded at 0.5), in the same order.
        info: ``kzoo.data.info(dataset)``, or a sequence of class names.
        backend: ``"pycocotools"`` or ``"fast"``.

    Returns:
        The box metrics of ``kzoo.models.detection.evaluate`` (``AP``,
        ``AP50``, ...), and the same for masks prefixed ``mask_`` (``mask_AP``,
        ``mask_AP50``, ..., ``mask_per_class_AP``).
    """
    class_names = getattr(info, "class_names", info)
    masks = coco_evaluation(elements, predictions, "segm", backend, categories(class_names))
    return {**evaluate_boxes(elements, predictions, class_names, backend), **_prefixed("mask", masks, class_names)}


def evaluate_keypoint_detection(elements, predictions, info, backend="pycocotools"):
    """COCO box and keypoint metrics.

    Args:
        elements: dataset elements with ``keypoints``, one per image.
        predictions: prediction dicts with ``detection_keypoints``.
        info: ``kzoo.data.info(dataset)``; its ``keypoint_sigmas`` set the
            OKS (COCO's 17 sigmas when it has none).
        backend: ``"pycocotools"`` or ``"fast"``.

    Returns:
        The box metrics, and COCO's keypoint summary prefixed ``keypoint_``
        (``keypoint_AP``, ``keypoint_AP50``, ``keypoint_AP75``, ``keypoint_APm``,
        ``keypoint_APl``, ``keypoint_AR``, ...).
    """
    class_names = getattr(info, "class_names", info)
    sigmas = getattr(info, "keypoint_sigmas", ()) or None
    keypoints = coco_evaluation(elements, predictions, "keypoints", backend, categories(class_names), sigmas)
    boxes = evaluate_boxes(elements, predictions, class_names, backend)
    return {**boxes, **_prefixed("keypoint", keypoints, class_names)}
