"""Datasets as kzoo dataset elements: built-in generated ones and TFDS names.

``load(name, split)`` returns an unbatched ``tf.data.Dataset`` of elements
(docs/design.md, "The dataset element"):

- ``image`` uint8 [H, W, 3]
- ``boxes`` float32 [M, 4], normalized ``[ymin, xmin, ymax, xmax]``
- ``classes`` int32 [M], 0-based
- ``masks`` uint8 [M, H, W] of 0/1 (built-in datasets: visible pixels)
- ``keypoints`` float32 [M, J, 3] as (y, x, visible), y and x normalized
  to [0, 1] by image height and width (``stick_figures``)
- ``segmentation`` int32 [H, W], 0 for background and ``class + 1``
- ``is_crowd`` bool [M] (TFDS names only; see ``tfds_names``)
- ``image_id`` int64

Names. A built-in dataset is a TFDS builder and a variant is its builder
config, so ``NAME/CONFIG`` works here and in ``tfds.load`` alike (once
``kzoo.data`` is imported); ``NAME`` alone is the default config:

- ``shapes`` (= ``shapes/scenes``), ``shapes/tiny``
- ``fashion_scenes`` (= ``fashion_scenes/scenes``), ``fashion_scenes/single``,
  ``fashion_scenes/tiny``, ``fashion_scenes/single_tiny``
- ``stick_figures`` (= ``stick_figures/scenes``), ``stick_figures/single``,
  ``stick_figures/tiny``, ``stick_figures/single_tiny``

``*tiny`` configs hold the first 64 / 16 / 16 examples of their full config,
for tests and smoke runs. Splits are ``train``, ``validation`` and ``test``
(TFDS slicing such as ``"train[:10%]"`` works too). Generation is local and
happens once per data dir (TFDS's cache, ``~/tensorflow_datasets`` or
``$TFDS_DATA_DIR`` unless ``data_dir`` is given).

TFDS datasets the user has prepared (``voc/2007``, ``voc/2012``,
``coco/2014``, ``coco/2017``) map into the same elements (``tfds_names``).
A dataset the user brings is named by its folder's path: COCO json files
per split, or a folder of images per class (``user_data``). COCO json
files themselves: ``kzoo.data.coco``. Batching and augmentation:
``kzoo.data.pipeline``.
"""

import dataclasses
import importlib
import os

import tensorflow as tf
import tensorflow_datasets as tfds

from kzoo.data import fashion_scenes, shapes, stick_figures, tfds_names, user_data
from kzoo.data.scene_builder import to_element

BUILDERS = {
    "shapes": shapes.Shapes,
    "fashion_scenes": fashion_scenes.FashionScenes,
    "stick_figures": stick_figures.StickFigures,
}


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a model needs to know about a dataset before reading it.

    Attributes:
        name: the dataset name as given to ``load``.
        class_names: tuple of class names; class ``i`` is ``class_names[i]``.
        image_size: (height, width), or None when images vary in size.
        splits: split name -> number of examples (empty when unknown).
        max_objects: most objects in one image, or None when unknown.
        features: the keys of each element.
        keypoint_names: joint names, in keypoint order (empty without keypoints).
        skeleton: pairs of joint indices joined when drawing a pose.
        keypoint_flip_indices: joint order after a horizontal flip (left and
            right swapped); pass it to ``pipeline.flip_left_right``.
        keypoint_sigmas: COCO OKS sigma of each joint (how far a predicted
            joint may stray, relative to the object's scale), for keypoint AP.
    """

    name: str
    class_names: tuple
    image_size: tuple | None
    splits: dict
    max_objects: int | None
    features: tuple
    keypoint_names: tuple = ()
    skeleton: tuple = ()
    keypoint_flip_indices: tuple = ()
    keypoint_sigmas: tuple = ()

    @property
    def num_classes(self):
        return len(self.class_names)


def _builtin(name):
    """(builder class, config) of a built-in name, or None."""
    base, _, config_name = name.partition("/")
    builder_cls = BUILDERS.get(base)
    if builder_cls is None:
        return None
    configs = {c.name: c for c in builder_cls.BUILDER_CONFIGS}
    config = configs.get(config_name or builder_cls.BUILDER_CONFIGS[0].name)
    if config is None:
        raise ValueError(f"Unknown variant {name!r}; {base} has {sorted(configs)}.")
    return builder_cls, config


def _check_name(name):
    if isinstance(name, str) and name.endswith(".json") and os.path.isfile(name):
        raise ValueError(
            f"{name} is a json file: name a COCO dataset by its folder "
            f"({os.path.dirname(os.path.abspath(name))}), which holds train.json, validation.json or val.json, "
            "test.json, and the images (in images/ or beside the json files)"
        )
    if name not in tfds_names.NAMES:
        raise ValueError(
            f"Unknown dataset {name!r}: not a folder, a built-in or a TFDS name; known: "
            f"{list_datasets(include_tfds=True)}, or the path of a dataset folder (kzoo.data.user_data)."
        )


def list_datasets(include_tfds=False):
    """Names ``load`` accepts: the built-in datasets, plus TFDS names if asked."""
    names = []
    for base, builder_cls in BUILDERS.items():
        default = builder_cls.BUILDER_CONFIGS[0]
        names += [base if c is default else f"{base}/{c.name}" for c in builder_cls.BUILDER_CONFIGS]
    return names + (list(tfds_names.NAMES) if include_tfds else [])


def info(name):
    """``DatasetInfo`` of a dataset name, without generating or reading any data."""
    if user_data.is_user_dataset(name):
        return DatasetInfo(name=name, **user_data.info_fields(name))
    builtin = _builtin(name)
    if builtin is None:
        _check_name(name)
        return DatasetInfo(name, tfds_names.class_names(name), None, {}, None, tfds_names.FEATURES)
    builder_cls, config = builtin
    features = ("image", "boxes", "classes", "masks", "segmentation", "image_id")
    keypoints = {}
    if builder_cls.NUM_KEYPOINTS:
        features = features[:4] + ("keypoints",) + features[4:]
        keypoints = dict(
            keypoint_names=stick_figures.JOINT_NAMES,
            skeleton=stick_figures.SKELETON,
            keypoint_flip_indices=stick_figures.FLIP_INDICES,
            keypoint_sigmas=stick_figures.OKS_SIGMAS,
        )
    return DatasetInfo(
        name=name,
        class_names=tuple(builder_cls.CLASS_NAMES),
        image_size=(config.image_size, config.image_size),
        splits=dict(config.split_sizes),
        max_objects=config.max_objects,
        features=features,
        **keypoints,
    )


def builder(name, data_dir=None):
    """The TFDS builder behind a built-in dataset name (for TFDS-level use)."""
    builtin = _builtin(name)
    if builtin is None:
        raise ValueError(f"{name!r} is not a built-in dataset; built-in: {list_datasets()}.")
    builder_cls, config = builtin
    return builder_cls(config=config.name, data_dir=data_dir)


def load(name, split="train", data_dir=None):
    """An unbatched ``tf.data.Dataset`` of kzoo elements.

    Args:
        name: a name from ``list_datasets(include_tfds=True)``, or the path of
            a dataset folder (``user_data``).
        split: ``"train"``, ``"validation"``, ``"test"`` or a TFDS slice.
        data_dir: TFDS data folder; None uses TFDS's default.

    Built-in datasets are generated on first use (locally, nothing is
    downloaded) and read from TFDS's cache afterwards. Elements come in a
    fixed order; shuffle them in the training pipeline.
    """
    if user_data.is_user_dataset(name):
        return user_data.load(name, split)
    if _builtin(name) is None:
        _check_name(name)
        return tfds_names.load(name, split, data_dir)
    scene_builder = builder(name, data_dir)
    try:
        # Local generation only: never look for a prepared copy on TFDS's servers.
        scene_builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(try_download_gcs=False)
        )
    except OSError:
        # Another process may have finished the same dataset first (TFDS then
        # fails to rename its own copy into place); use theirs.
        scene_builder = builder(name, data_dir)
        if not scene_builder.is_prepared():
            raise
    dataset = scene_builder.as_dataset(split=split, shuffle_files=False)
    return dataset.map(to_element, num_parallel_calls=tf.data.AUTOTUNE)


def __getattr__(attribute):
    # Submodules with heavier or optional imports load on first use.
    if attribute in ("coco", "pipeline"):
        return importlib.import_module(f"kzoo.data.{attribute}")
    raise AttributeError(f"module 'kzoo.data' has no attribute {attribute!r}")
