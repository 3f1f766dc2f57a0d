"""Checks of a COCO dataset dict, each failing with a one-line ``ValueError`` that names the file.

``kzoo.data.coco`` runs them before it reads a file's elements
(``check_dataset``) and before it reads the images of a ``tf.data``
pipeline (``check_image_files``); ``kzoo.data.user_data`` runs them on
every split it lists. ``source`` is the json's path (or a description of
a dict) and starts every message.
"""

import math
import os

MISSING_NAMES_SHOWN = 3


def check_lists(dataset, source):
    """``images`` and ``categories`` must be lists of objects; ``annotations``, when present, too."""
    if not isinstance(dataset, dict):
        raise ValueError(f"{source}: not a COCO dataset (a json object with 'images' and 'categories')")
    for key in ("images", "categories", "annotations"):
        if key == "annotations" and key not in dataset:
            continue
        if not isinstance(dataset.get(key), list):
            raise ValueError(f"{source}: no {key!r} list")
        if not all(isinstance(item, dict) for item in dataset[key]):
            raise ValueError(f"{source}: the {key!r} list holds something that is not a json object")


def check_unique_ids(items, kind, source):
    """No two of ``items`` (image, category or annotation dicts) share an ``id``; items without one are skipped."""
    seen = set()
    for item in items:
        if "id" not in item:
            continue
        if item["id"] in seen:
            raise ValueError(f"{source}: {kind} id {item['id']} appears twice")
        seen.add(item["id"])


def check_categories(dataset, source):
    """The ``categories`` of a dataset dict: a list of objects with an ``id``, none twice."""
    check_lists(dataset, source)
    for category in dataset["categories"]:
        if "id" not in category:
            raise ValueError(f"{source}: category {category} has no id")
    check_unique_ids(dataset["categories"], "category", source)


def check_dataset(dataset, source, image_dir=None, masks=False):
    """Refuse a malformed COCO dataset with an error naming ``source`` and the image or annotation."""
    check_categories(dataset, source)
    images = {}
    for info in dataset["images"]:
        _check_image(info, source, image_dir)
        images[info["id"]] = info
    check_unique_ids(dataset["images"], "image", source)
    categories = {c["id"] for c in dataset["categories"]}
    annotations = dataset.get("annotations", [])
    check_unique_ids(annotations, "annotation", source)
    for ann in annotations:
        _check_annotation(ann, images, categories, f"{source}: annotation {ann.get('id', '(no id)')}", masks)


def _check_image(info, source, image_dir):
    missing = [k for k in ("id", "height", "width") + (("file_name",) if image_dir else ()) if k not in info]
    if missing:
        raise ValueError(f"{source}: image {info.get('id', info)} has no {', '.join(missing)}")
    size = (info["height"], info["width"])
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 1 for v in size):
        raise ValueError(f"{source}: image {info['id']} has a height or width that is not a positive number: {size}")


def _check_annotation(ann, images, categories, name, masks):
    if ann.get("image_id") not in images:
        raise ValueError(f"{name} belongs to image {ann.get('image_id')}, which is not among the images")
    if ann.get("category_id") not in categories:
        raise ValueError(f"{name} has unknown category id {ann.get('category_id')}")
    _check_bbox(ann.get("bbox"), images[ann["image_id"]], name)
    if masks and "segmentation" not in ann:
        raise ValueError(f"{name} has no segmentation, and masks were asked for")


def _check_bbox(bbox, image, name):
    """Four finite numbers, width and height >= 0, touching the image (which it may overhang)."""
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
        raise ValueError(f"{name} has no bbox of four numbers (got {bbox!r})")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in bbox):
        raise ValueError(f"{name} has a bbox that is not finite: {bbox}")
    x, y, w, h = bbox
    if w < 0 or h < 0:
        raise ValueError(f"{name} has a bbox [x, y, w, h] with a negative width or height: {bbox}")
    if x > image["width"] or y > image["height"] or x + w < 0 or y + h < 0:
        raise ValueError(
            f"{name} has a bbox [x, y, w, h] wholly outside its {image['width']}x{image['height']} "
            f"image {image['id']}: {bbox}"
        )


def check_image_files(dataset, image_dir, source):
    """Every image the dataset lists is a file under ``image_dir`` (``os.path`` checks, no reading)."""
    missing = [info["file_name"] for info in dataset["images"]
               if not os.path.isfile(os.path.join(image_dir, info["file_name"]))]
    if missing:
        shown = ", ".join(missing[:MISSING_NAMES_SHOWN]) + (", ..." if len(missing) > MISSING_NAMES_SHOWN else "")
        raise ValueError(
            f"{source}: {len(missing)} of its {len(dataset['images'])} image files not found in {image_dir}: {shown}"
        )
