"""Datasets a user brings, named by their folder: COCO json files per split, or a folder of images per class.

Wherever kzoo takes a dataset name (``kzoo.data.load``, ``kzoo.data.info``,
``kzoo train NAME --dataset``, ``kzoo evaluate --dataset``), the path of a
folder laid out in one of two ways works too:

- **COCO json per split** (detection, instance segmentation, keypoints)::

      my_data/train.json          required
      my_data/validation.json     or val.json; optional
      my_data/test.json           optional
      my_data/images/...          the json's file_name, relative to images/
                                  (or to my_data/ itself when there is no images/)

  Elements are ``kzoo.data.coco``'s: boxes, classes in the order of the
  sorted category ids, ``is_crowd``, ``area``, ``category_ids``; ``masks``
  when every annotation of ``train.json`` has a ``segmentation``, and
  ``keypoints`` when its categories name keypoints. Class names are the
  categories' names; every split must have the same categories.

- **A folder of images per class** (classification)::

      my_data/train/<class name>/*.jpg|png     required
      my_data/validation/<class name>/...      optional
      my_data/test/<class name>/...            optional

  Class names are the sorted folder names of ``train/``; a class folder in
  another split that ``train/`` lacks is an error. Each element holds one
  object covering the image, so classifiers read ``classes[0]`` as for the
  built-in datasets.

Nothing is guessed: a split that is not there, a folder that is neither
layout, an image that cannot be decoded or disagrees with its json are
errors that name the file. Every json is checked when its split is listed
(``info``) or loaded, with ``kzoo.data.coco``'s rules (ids unique, boxes
sane); ``train.json`` and the validation json need an ``annotations`` list,
which for ``train.json`` must not be empty (``test.json`` may go without);
loading a split checks that every image it lists is on disk.
"""

import collections
import hashlib
import json
import os

import tensorflow as tf

from kzoo.data import coco, coco_checks

SPLIT_FILES = {"train": ("train.json",), "validation": ("validation.json", "val.json"), "test": ("test.json",)}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


def is_user_dataset(name):
    """Whether ``name`` is the path of a folder (rather than a built-in or TFDS name)."""
    return isinstance(name, str) and os.path.isdir(name)


def _layout(folder):
    if os.path.exists(os.path.join(folder, "train.json")):
        return "coco"
    if os.path.isdir(os.path.join(folder, "train")):
        return "folders"
    raise ValueError(
        f"{folder} is not a kzoo dataset folder: it needs train.json (COCO json per split) or train/<class>/ "
        "(a folder of images per class)"
    )


def _check_split(split):
    if split not in SPLIT_FILES:
        raise ValueError(f"split must be one of {sorted(SPLIT_FILES)} for a dataset folder, got {split!r}")


def _coco_file(folder, split):
    _check_split(split)
    for file_name in SPLIT_FILES[split]:
        path = os.path.join(folder, file_name)
        if os.path.exists(path):
            return path
    raise ValueError(f"{folder} has no {split} split (looked for {' or '.join(SPLIT_FILES[split])})")


def _image_dir(folder):
    images = os.path.join(folder, "images")
    return images if os.path.isdir(images) else folder


def _present_splits(folder):
    """The splits of a COCO folder whose json file is there, in ``SPLIT_FILES`` order."""
    return [split for split, names in SPLIT_FILES.items()
            if any(os.path.exists(os.path.join(folder, name)) for name in names)]


def _read_split(folder, split):
    """(path, checked dataset dict) of a COCO split.

    Training and validation need an ``annotations`` list (without one, training would
    run with zero loss); ``test.json`` may go without. An empty list is no object in
    any image: a legal validation or test split, but nothing to train on.
    """
    path = _coco_file(folder, split)
    data = coco.load_coco_json(path)
    coco_checks.check_dataset(data, path)
    if split != "test" and "annotations" not in data:
        raise ValueError(f"{path}: no 'annotations' list, which the {split} split needs (only test.json may lack it)")
    if split == "train" and not data["annotations"]:
        raise ValueError(f"{path}: the 'annotations' list is empty: no object to train on")
    return path, data


def _coco_contents(folder):
    """(train json path, its dict, whether to read masks, whether to read keypoints)."""
    path, train = _read_split(folder, "train")
    annotations = train["annotations"]
    masks = bool(annotations) and all(ann.get("segmentation") for ann in annotations)
    keypoints = any(category.get("keypoints") for category in train["categories"])
    return path, train, masks, keypoints


def _check_categories(folder, split, path, data, train_categories):
    """A split's categories must be train.json's (checked per file first: ids unique)."""
    names = [c["name"] for c in coco.coco_categories(data, path)]
    if names != [c["name"] for c in train_categories]:
        raise ValueError(f"{folder}: the {split} split's categories differ from train.json's")


def _class_folders(split_dir):
    return sorted(entry for entry in os.listdir(split_dir) if os.path.isdir(os.path.join(split_dir, entry)))


def _image_files(folder, split):
    """[(path, class index)] of ``folder/split``, in a fixed order."""
    _check_split(split)
    class_names = _class_folders(os.path.join(folder, "train"))
    split_dir = os.path.join(folder, split)
    if not os.path.isdir(split_dir):
        raise ValueError(f"{folder} has no {split} split (looked for {split_dir}/)")
    files = []
    for name in _class_folders(split_dir):
        if name not in class_names:
            raise ValueError(f"{split_dir}/{name}/ is a class that {folder}/train/ does not have")
        class_dir = os.path.join(split_dir, name)
        files += [(os.path.join(class_dir, f), class_names.index(name)) for f in sorted(os.listdir(class_dir))
                  if f.lower().endswith(IMAGE_SUFFIXES)]
    if not files:
        raise ValueError(f"{split_dir}/ holds no images in class folders (<class>/*.jpg or *.png)")
    return files


def info_fields(folder):
    """The ``DatasetInfo`` fields of a dataset folder (besides ``name``), reading only its json files and file lists."""
    if _layout(folder) == "folders":
        class_names = tuple(_class_folders(os.path.join(folder, "train")))
        if not class_names:
            raise ValueError(f"{folder}/train/ has no class folders")
        splits = {}
        for split in SPLIT_FILES:
            if os.path.isdir(os.path.join(folder, split)):
                splits[split] = len(_image_files(folder, split))
        return dict(class_names=class_names, image_size=None, splits=splits, max_objects=1,
                    features=("image", "boxes", "classes", "image_id"))
    train_path, train, masks, keypoints = _coco_contents(folder)
    categories = coco.coco_categories(train, train_path)
    splits, max_objects = {}, 0
    for split in _present_splits(folder):
        path, data = (train_path, train) if split == "train" else _read_split(folder, split)
        _check_categories(folder, split, path, data, categories)
        splits[split] = len(data["images"])
        per_image = collections.Counter(ann.get("image_id") for ann in data.get("annotations", []))
        max_objects = max([max_objects, *per_image.values()])
    features = ("image", "boxes", "classes", "is_crowd", "area", "image_id")
    fields = dict(class_names=tuple(c["name"] for c in categories), image_size=None, splits=splits,
                  max_objects=max_objects, features=features + (("masks",) if masks else ()))
    if keypoints:
        named = next(c for c in categories if c.get("keypoints"))
        fields["features"] += ("keypoints",)
        fields["keypoint_names"] = tuple(named["keypoints"])
        fields["skeleton"] = tuple((a - 1, b - 1) for a, b in named.get("skeleton", []))
    return fields


def load(folder, split="train"):
    """An unbatched ``tf.data.Dataset`` of the elements of split ``split`` of a dataset folder."""
    if _layout(folder) == "folders":
        files = _image_files(folder, split)
        paths = tf.constant([path for path, _ in files])
        labels = tf.constant([label for _, label in files], tf.int32)

        def element(index, path, label):
            image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
            return {"image": image, "boxes": tf.constant([[0.0, 0.0, 1.0, 1.0]]), "classes": label[None],
                    "image_id": tf.cast(index, tf.int64)}

        indices = tf.range(len(files), dtype=tf.int64)
        return tf.data.Dataset.from_tensor_slices((indices, paths, labels)).map(
            element, num_parallel_calls=tf.data.AUTOTUNE
        )
    train_path, train, masks, keypoints = _coco_contents(folder)
    # The train json is read once (COCO's can be hundreds of megabytes); errors still name its file.
    path, data = (train_path, train) if split == "train" else _read_split(folder, split)
    _check_categories(folder, split, path, data, coco.coco_categories(train, train_path))
    return coco.coco_dataset(data, _image_dir(folder), masks=masks, keypoints=keypoints, source=path)


def fingerprint(folder, split):
    """What a split reads, for caches of results computed from it (``kzoo.data.proposal_cache``).

    Returns ``{"path": ..., "fingerprint": ...}``: the resolved absolute path of the
    split's json (or of its folder of class folders), and a SHA-256 of the json's bytes
    and of every image file's name, size and modification time. Editing the json or
    any image in place, or pointing at another folder, changes it; nothing is decoded.
    """
    digest = hashlib.sha256()
    if _layout(folder) == "folders":
        path, files = os.path.join(folder, split), [file for file, _ in _image_files(folder, split)]
    else:
        path = _coco_file(folder, split)
        with open(path, "rb") as handle:
            contents = handle.read()
        digest.update(contents)
        files = _listed_images(folder, path, contents)
    for file in files:
        stat = os.stat(file) if os.path.isfile(file) else None
        name = os.path.relpath(file, folder)  # the folder's real path is keyed apart
        digest.update(repr((name, stat and stat.st_size, stat and stat.st_mtime_ns)).encode())
    return {"path": os.path.realpath(path), "fingerprint": digest.hexdigest()}


def _listed_images(folder, path, contents):
    """The image paths a COCO json's ``contents`` (bytes of ``path``) lists."""
    try:
        data = json.loads(contents)
    except ValueError as error:
        raise ValueError(f"{path}: not valid JSON: {error}") from None
    coco_checks.check_lists(data, path)
    image_dir = _image_dir(folder)
    return [os.path.join(image_dir, str(info.get("file_name", ""))) for info in data["images"]]
