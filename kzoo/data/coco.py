"""COCO json <-> kzoo dataset elements and predictions.

Reading (``coco_elements``, ``coco_dataset``) gives one element per image, in
the order of the json's ``images``:

- ``image`` uint8 [H, W, 3] (or ``height`` and ``width`` int32 when no image
  folder is given, enough for evaluation);
- ``boxes`` float32 [M, 4], ``[ymin, xmin, ymax, xmax]`` normalized by the
  json's image height and width;
- ``classes`` int32 [M]: 0-based, the index of the category id in the sorted
  category ids (``coco_categories`` keeps the mapping);
- ``is_crowd`` bool [M] and ``area`` float32 [M] (COCO's segment area, which
  decides small/medium/large); crowd annotations are kept: training ignores
  them, evaluation needs them;
- optional ``masks`` uint8 [M, H, W] from polygons, RLE or uncompressed RLE;
- optional ``keypoints`` float32 [M, J, 3] as ``(y, x, visible)`` with
  ``y = y_coco / height`` and ``x = x_coco / width`` (the boxes' scale) and
  COCO's visibility flag (0 unlabeled, 1 occluded, 2 visible);
- ``image_id`` int64;
- ``category_ids`` int64 [K]: the json's category ids in class order, so
  that writing the elements back gives the same ids (1, 3, 90 stay 1, 3, 90).

Boxes as COCO users expect them. A ``bbox`` of zero width or height (COCO's
own train2017 has a few) is kept: such a box never matches an anchor or
proposal, and evaluation still counts it as COCO does. A ``bbox`` that
overhangs the image (COCO has boxes a pixel past the edge) is clipped to
it, so element boxes stay within [0, 1] (docs/design.md, "Boxes"); ``area``
is the json's, untouched. A negative width or height, or a box wholly
outside its image, is an error.

The reader refuses rather than guesses: nothing is dropped, and a
malformed file is a one-line ``ValueError`` that names the file and the
image or annotation (``kzoo.data.coco_checks``): a file that is not JSON,
a missing ``images``, ``categories`` or ``bbox``, a ``bbox`` that is not
four finite numbers or as above, an image, category or annotation id
that appears twice, an annotation of an unknown image or category, a
missing ``segmentation`` when masks are read, an image file that does
not exist (``coco_dataset`` checks them all before reading any, and names
the first few) or cannot be decoded. A file without ``annotations`` reads
as images without objects; ``kzoo.data.user_data`` requires them where a
split needs them.

Writing (``groundtruth_to_coco``, ``predictions_to_coco``) turns elements and
prediction dicts (docs/design.md, "Predictions") back into a COCO dataset
dict and a results list. Class ``c`` becomes ``categories[c]["id"]``;
without categories, ``c + 1``. Both go through ``groundtruth_arrays`` and
``prediction_arrays``, the one place where normalized boxes become pixels, so
kzoo's evaluator and pycocotools read the same numbers.
"""

import json
import os
import re

import numpy as np
from pycocotools import mask as mask_utils

from kzoo.data import coco_checks
from kzoo.staging import replace_atomically


def load_coco_json(source):
    """A COCO dataset dict (or results list) from a path, or the dict or list itself.

    A file that is not valid JSON is a ``ValueError`` naming it."""
    if isinstance(source, (dict, list)):
        return source
    with open(source, "rb") as f:
        try:
            return json.load(f)
        except ValueError as error:  # json.JSONDecodeError and UnicodeDecodeError
            raise ValueError(f"{source}: not valid JSON: {error}") from None


def coco_categories(dataset, source=None):
    """Categories sorted by id; class ``c`` is ``coco_categories(d)[c]``. Errors name ``source``."""
    source = _source(dataset, source)
    dataset = load_coco_json(dataset)
    coco_checks.check_categories(dataset, source)
    return sorted(dataset["categories"], key=lambda c: c["id"])


def _source(dataset, source):
    """What errors call the dataset: ``source``, else its path, else "the COCO dataset"."""
    return source or (dataset if isinstance(dataset, str) else "the COCO dataset")


def _boxes(anns, height, width):
    """COCO ``[x, y, w, h]`` pixels -> normalized ``[ymin, xmin, ymax, xmax]``, clipped to the image."""
    x, y, w, h = np.array([a["bbox"] for a in anns], np.float64).reshape(-1, 4).T
    boxes = np.stack([y / height, x / width, (y + h) / height, (x + w) / width], -1)
    return np.clip(boxes, 0.0, 1.0).astype(np.float32)


def coco_elements(dataset, image_dir=None, masks=False, keypoints=False, source=None):
    """Yields one kzoo element per image of a COCO dataset (module docstring); errors name ``source``
    (default: the json's path when ``dataset`` is one)."""
    source = _source(dataset, source)
    dataset = load_coco_json(dataset)
    coco_checks.check_dataset(dataset, source, image_dir, masks)
    categories = coco_categories(dataset, source)
    class_of = {c["id"]: i for i, c in enumerate(categories)}
    category_ids = np.array([c["id"] for c in categories], np.int64)
    by_image = {}
    for ann in dataset.get("annotations", []):
        by_image.setdefault(ann["image_id"], []).append(ann)
    joints = max((len(c.get("keypoints", [])) for c in dataset["categories"]), default=0)
    for info in dataset["images"]:
        height, width = int(info["height"]), int(info["width"])
        anns = by_image.get(info["id"], [])
        element = {"image_id": np.int64(info["id"]), "category_ids": category_ids}
        if image_dir is not None:
            element["image"] = _read_image(os.path.join(image_dir, info["file_name"]), height, width)
        else:
            element["height"], element["width"] = np.int32(height), np.int32(width)
        element["boxes"] = _boxes(anns, height, width)
        element["classes"] = np.array([class_of[a["category_id"]] for a in anns], np.int32)
        element["is_crowd"] = np.array([bool(a.get("iscrowd", 0)) for a in anns], bool)
        element["area"] = np.array([a.get("area", 0.0) for a in anns], np.float32)
        if masks:
            element["masks"] = np.zeros((len(anns), height, width), np.uint8)
            for i, ann in enumerate(anns):
                element["masks"][i] = mask_utils.decode(_annotation_rle(ann, height, width))
        if keypoints:
            points = np.zeros((len(anns), joints, 3), np.float32)
            for i, ann in enumerate(anns):
                if ann.get("keypoints"):
                    xyv = np.array(ann["keypoints"], np.float64).reshape(-1, 3)
                    points[i, : len(xyv)] = np.stack([xyv[:, 1] / height, xyv[:, 0] / width, xyv[:, 2]], -1)
            element["keypoints"] = points
        yield element


def coco_dataset(dataset, image_dir, masks=False, keypoints=False, source=None):
    """``coco_elements`` as an unbatched ``tf.data.Dataset`` (images must be given); errors name ``source``."""
    import tensorflow as tf

    source = _source(dataset, source)
    dataset = load_coco_json(dataset)
    coco_checks.check_dataset(dataset, source, image_dir, masks)
    if not dataset["images"]:
        raise ValueError(f"{source} has no images")
    coco_checks.check_image_files(dataset, image_dir, source)
    # The element signature, from the first image alone.
    first_id = dataset["images"][0]["id"]
    sample = {**dataset, "images": dataset["images"][:1],
              "annotations": [a for a in dataset.get("annotations", []) if a["image_id"] == first_id]}
    first = next(coco_elements(sample, image_dir, masks, keypoints, source))
    signature = {k: tf.TensorSpec((None,) * np.ndim(v), tf.as_dtype(np.asarray(v).dtype)) for k, v in first.items()}
    signature["image"] = tf.TensorSpec((None, None, 3), tf.uint8)
    signature["boxes"] = tf.TensorSpec((None, 4), tf.float32)
    return tf.data.Dataset.from_generator(
        lambda: coco_elements(dataset, image_dir, masks, keypoints, source), output_signature=signature
    )


def _read_image(path, height, width):
    import tensorflow as tf

    if not os.path.exists(path):
        raise ValueError(f"image file {path} does not exist")
    try:
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False).numpy()
    except tf.errors.OpError as error:
        raise ValueError(f"image file {path} cannot be decoded: {_op_message(error)}") from None
    if image.shape[:2] != (height, width):
        raise ValueError(f"{path} is {image.shape[1]}x{image.shape[0]}, the json says {width}x{height}")
    return image


def _op_message(error):
    """A TF op error's own first line, without the op's name around it ("{{function_node ...}}", "[Op:...]")."""
    first = error.message.strip().splitlines()[0] if error.message.strip() else type(error).__name__
    return re.sub(r"\s*\[Op:[^\]]*\](?: name: ?\S*)?\s*$", "", re.sub(r"^(\{\{function_node [^}]*\}\}\s*)+", "", first))


def _annotation_rle(ann, height, width):
    """As ``COCO.annToRLE``: polygons merged, uncompressed RLE compressed."""
    segm = ann["segmentation"]
    if isinstance(segm, list):
        return mask_utils.merge(mask_utils.frPyObjects(segm, height, width))
    if isinstance(segm["counts"], list):
        return mask_utils.frPyObjects(segm, height, width)
    return segm


def image_size(element):
    """(height, width) of an element: from its image, else its ``height``/``width``."""
    if "image" in element:
        shape = np.shape(element["image"])
        return int(shape[-3]), int(shape[-2])
    return int(element["height"]), int(element["width"])


def image_ids(elements):
    """Each element's ``image_id``, or positions 0..N-1 when any lacks one; ids must be unique."""
    if all("image_id" in e for e in elements):
        ids = [int(np.asarray(e["image_id"]).reshape(())) for e in elements]
        if len(set(ids)) != len(ids):
            raise ValueError("image_id values must be unique")
        return ids
    return list(range(len(elements)))


def _pixel_xywh(boxes, height, width):
    """Normalized ``[ymin, xmin, ymax, xmax]`` -> COCO ``[x, y, w, h]`` pixels, float64."""
    ymin, xmin, ymax, xmax = (np.asarray(boxes, np.float64).reshape(-1, 4) * [height, width, height, width]).T
    return np.stack([xmin, ymin, xmax - xmin, ymax - ymin], -1)


def _encode(masks):
    masks = np.asfortranarray(np.asarray(masks, np.uint8).transpose(1, 2, 0))
    return mask_utils.encode(masks) if masks.shape[2] else []


def groundtruth_arrays(element, with_masks=False):
    """One element's annotations as COCO arrays: ``classes``, ``bbox``, ``area``,
    ``iscrowd``, optional ``keypoints`` (x, y, v pixels) with ``num_keypoints``,
    and ``segmentation`` (RLE list) when ``with_masks``. Rows with class < 0
    are batch padding and are left out."""
    height, width = image_size(element)
    classes = np.asarray(element["classes"]).reshape(-1).astype(np.int64)
    keep = classes >= 0
    out = {"classes": classes[keep], "bbox": _pixel_xywh(element["boxes"], height, width)[keep]}
    crowd = element.get("is_crowd")
    out["iscrowd"] = np.zeros(len(out["classes"]), bool) if crowd is None else np.asarray(crowd, bool).reshape(-1)[keep]
    masks = element.get("masks")
    if "area" in element:
        out["area"] = np.asarray(element["area"], np.float64).reshape(-1)[keep]
    elif masks is not None:
        masks = np.asarray(masks)
        out["area"] = masks.reshape(masks.shape[0], masks.shape[-1] * masks.shape[-2])[keep].sum(1).astype(np.float64)
    else:
        out["area"] = out["bbox"][:, 2] * out["bbox"][:, 3]
    if with_masks:
        if masks is None:
            raise ValueError("mask evaluation needs 'masks' in every ground-truth element")
        out["segmentation"] = _encode(np.asarray(masks)[keep])
    if element.get("keypoints") is not None:
        points = np.asarray(element["keypoints"], np.float64)[keep]
        out["keypoints"] = np.stack([points[..., 1] * width, points[..., 0] * height, points[..., 2]], -1)
        out["num_keypoints"] = np.count_nonzero(points[..., 2] > 0, axis=-1)
    return out


def prediction_arrays(prediction, height, width, iou_type="bbox"):
    """One image's predictions as COCO result arrays: ``classes``, ``score``,
    ``bbox``, ``area`` (as ``COCO.loadRes`` computes it) and ``segmentation``
    or ``keypoints`` for those IoU types. Only the first ``num_detections``
    count; a leading batch axis of one is removed."""
    boxes = np.asarray(prediction["detection_boxes"], np.float64)
    squeeze = boxes.ndim == 3
    get = (lambda k: np.asarray(prediction[k])[0]) if squeeze else (lambda k: np.asarray(prediction[k]))
    count = len(get("detection_boxes"))
    if "num_detections" in prediction:
        count = min(count, int(np.asarray(prediction["num_detections"]).reshape(-1)[0]))
    out = {
        "classes": get("detection_classes")[:count].astype(np.int64),
        "score": get("detection_scores")[:count].astype(np.float64),
        "bbox": _pixel_xywh(get("detection_boxes")[:count], height, width),
    }
    out["area"] = out["bbox"][:, 2] * out["bbox"][:, 3]
    if iou_type == "segm":
        from kzoo.ops.masks import paste_masks

        masks = paste_masks(get("detection_masks")[:count], get("detection_boxes")[:count], height, width)
        out["segmentation"] = _encode(masks)
        out["area"] = masks.reshape(count, height * width).sum(1).astype(np.float64)
    elif iou_type == "keypoints":
        points = get("detection_keypoints")[:count].astype(np.float64)
        xs, ys = points[..., 1] * width, points[..., 0] * height
        out["keypoints"] = np.stack([xs, ys, np.ones_like(xs)], -1)
        out["area"] = (xs.max(1) - xs.min(1)) * (ys.max(1) - ys.min(1)) if count else np.zeros(0)
    return out


def default_categories(num_classes):
    """Category dicts for classes 0..num_classes-1: ids 1..num_classes."""
    return [{"id": c + 1, "name": str(c)} for c in range(num_classes)]


def categories_of(elements):
    """The categories elements read from COCO json carry (``category_ids``), else None."""
    for element in elements:
        if "category_ids" in element:
            return [{"id": int(i), "name": str(int(i))} for i in np.asarray(element["category_ids"]).reshape(-1)]
    return None


def _category_ids(classes, categories):
    if categories is None:
        return classes + 1
    ids = np.array([c["id"] for c in categories], np.int64)
    if len(classes) and (classes.max() >= len(ids)):
        raise ValueError(f"class {classes.max()} has no category (there are {len(ids)})")
    return ids[classes]


def groundtruth_to_coco(elements, categories=None, iou_type="bbox"):
    """A COCO dataset dict (images, annotations with ids from 1, categories).

    ``categories`` defaults to the ids the elements carry (``category_ids``,
    read from COCO json), else to ``default_categories`` of the largest class.
    """
    categories = categories or categories_of(elements)
    if categories is None:
        largest = max((int(np.max(e["classes"], initial=-1)) for e in elements), default=-1)
        categories = default_categories(largest + 1)
    annotations, images = [], []
    for image_id, element in zip(image_ids(elements), elements):
        height, width = image_size(element)
        images.append({"id": image_id, "height": height, "width": width})
        arrays = groundtruth_arrays(element, with_masks=iou_type == "segm" or element.get("masks") is not None)
        category = _category_ids(arrays["classes"], categories)
        for i in range(len(category)):
            # pycocotools treats annotation id 0 as "no match": ids start at 1.
            ann = {"id": len(annotations) + 1, "image_id": image_id, "category_id": int(category[i]),
                   "bbox": arrays["bbox"][i].tolist(), "area": float(arrays["area"][i]),
                   "iscrowd": int(arrays["iscrowd"][i])}
            if "segmentation" in arrays:
                ann["segmentation"] = _rle_json(arrays["segmentation"][i])
            if "keypoints" in arrays:
                ann["keypoints"] = arrays["keypoints"][i].reshape(-1).tolist()
                ann["num_keypoints"] = int(arrays["num_keypoints"][i])
            annotations.append(ann)
    return {"images": images, "annotations": annotations, "categories": [dict(c) for c in categories]}


def predictions_to_coco(predictions, elements, categories=None, iou_type="bbox"):
    """A COCO results list; boxes only for ``bbox``, masks only for ``segm``
    (``loadRes`` would take a box's area otherwise), keypoints only for
    ``keypoints``. ``categories`` default as in ``groundtruth_to_coco``."""
    categories = categories or categories_of(elements)
    results = []
    for image_id, prediction, element in zip(image_ids(elements), predictions, elements):
        arrays = prediction_arrays(prediction, *image_size(element), iou_type=iou_type)
        category = _category_ids(arrays["classes"], categories)
        for i in range(len(category)):
            result = {"image_id": image_id, "category_id": int(category[i]), "score": float(arrays["score"][i])}
            if iou_type == "bbox":
                result["bbox"] = arrays["bbox"][i].tolist()
            elif iou_type == "segm":
                result["segmentation"] = _rle_json(arrays["segmentation"][i])
            else:
                result["keypoints"] = arrays["keypoints"][i].reshape(-1).tolist()
            results.append(result)
    return results


def _rle_json(rle):
    counts = rle["counts"]
    return {"size": list(rle["size"]), "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts}


def write_coco_json(obj, path):
    """Writes a dataset dict or results list; a reader never sees half a file."""

    def write(staging):
        with open(staging, "w") as handle:
            json.dump(obj, handle)

    replace_atomically(write, path)
