"""COCO evaluation of detection predictions, the way detectors are judged."""

from kzoo.metrics import coco_evaluation


def categories(class_names):
    """COCO category dicts for kzoo's 0-based classes: class ``c`` is category ``c + 1``."""
    return [{"id": c + 1, "name": str(name)} for c, name in enumerate(class_names)]


def evaluate(elements, predictions, info, backend="pycocotools"):
    """COCO box metrics of detection predictions.

    Args:
        elements: dataset elements (ground truth), one per image.
        predictions: detection prediction dicts in the same order (one per
            image or batched); only the first ``num_detections`` count.
        info: ``kzoo.data.info(dataset)`` (its class names name the categories),
            or a sequence of class names.
        backend: ``"pycocotools"`` (the reference) or ``"fast"``.

    Returns:
        dict of ``AP`` (mAP@[0.5:0.95]), ``AP50``, ``AP75``, ``APs``, ``APm``,
        ``APl``, ``AR1``, ``AR10``, ``AR100``, ``ARs``, ``ARm``, ``ARl`` and
        ``per_class_AP`` (class name -> AP, -1 for classes without ground truth).
    """
    class_names = getattr(info, "class_names", info)

    result = coco_evaluation(elements, predictions, "bbox", backend, categories(class_names))
    per_class = {str(name): result["per_class_ap"][c + 1] for c, name in enumerate(class_names)}
    return {**result["stats"], "per_class_AP": per_class}
