"""What the generated datasets share: TFDS builder, config, seeds, element mapping.

Each built-in dataset is a ``tfds.core.GeneratorBasedBuilder`` whose examples
come from a pure NumPy scene generator. Example ``i`` of split ``s`` is drawn
from ``numpy.random.default_rng([dataset seed, variant seed, split code, i])``,
so every example is fixed by its position alone: generation order does not
matter, the ``*tiny`` configs hold exactly the first examples of the full
configs, and splits never share a seed.

Stored TFDS features (``tfds.load("shapes")`` gives these):

- ``image``: uint8 [H, W, 3] (PNG).
- ``image_id``: int64, ``split code * 1_000_000 + index`` (train 0,
  validation 1, test 2), unique across splits.
- ``objects``: a sequence of ``bbox`` (``tfds.features.BBoxFeature``, the
  kzoo box format), ``label`` (``ClassLabel``) and, for stick figures,
  ``keypoints`` float32 [J, 3] as (y, x, visible) normalized.
- ``instances``: uint8 [H, W, 1], 0 for background and ``i + 1`` where
  object ``i`` is visible. Visible masks never overlap, so this one PNG holds
  every instance mask.
- ``segmentation``: uint8 [H, W, 1], 0 for background and ``class + 1``.

``to_element`` turns these into kzoo dataset elements.
"""

import dataclasses
import zlib

import cv2
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

SPLIT_CODES = {"train": 0, "validation": 1, "test": 2}
IMAGE_ID_STRIDE = 1_000_000


@dataclasses.dataclass(eq=False)
class SceneConfig(tfds.core.BuilderConfig):
    """A variant of a generated dataset.

    Args:
        image_size: side of the square images, in pixels.
        max_objects: most objects per image (the generator may place fewer
            when an object cannot be placed without hiding another).
        single: exactly one object per image (classification + localization,
            DeepPose).
        split_sizes: number of examples per split.
    """

    image_size: int = 128
    max_objects: int = 6
    single: bool = False
    split_sizes: dict = dataclasses.field(
        default_factory=lambda: {"train": 3000, "validation": 300, "test": 300}
    )


TINY_SPLITS = {"train": 64, "validation": 16, "test": 16}


class SceneBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Base of the generated datasets; subclasses define the scene generator.

    Subclasses set ``CLASS_NAMES``, ``BUILDER_CONFIGS``, ``DESCRIPTION``,
    ``CITATION``, ``SEED`` and implement ``generate(rng, split)`` returning
    the dict of ``drawing.Canvas.finish`` (plus ``keypoints`` when
    ``NUM_KEYPOINTS`` is set).
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    CLASS_NAMES = ()
    NUM_KEYPOINTS = 0
    DESCRIPTION = ""
    CITATION = ""
    SEED = 0

    def _info(self):
        size = self.builder_config.image_size
        objects = {
            "bbox": tfds.features.BBoxFeature(),
            "label": tfds.features.ClassLabel(names=list(self.CLASS_NAMES)),
        }
        if self.NUM_KEYPOINTS:
            objects["keypoints"] = tfds.features.Tensor(
                shape=(self.NUM_KEYPOINTS, 3), dtype=np.float32
            )
        features = tfds.features.FeaturesDict(
            {
                "image": tfds.features.Image(shape=(size, size, 3)),
                "image_id": tfds.features.Scalar(dtype=np.int64),
                "objects": tfds.features.Sequence(objects),
                "instances": tfds.features.Image(shape=(size, size, 1)),
                "segmentation": tfds.features.Image(shape=(size, size, 1)),
            }
        )
        return tfds.core.DatasetInfo(
            builder=self,
            description=self.DESCRIPTION,
            features=features,
            citation=self.CITATION,
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # everything is generated locally
        self.prepare_sources()
        return {
            split: self._generate_examples(split, size)
            for split, size in self.builder_config.split_sizes.items()
        }

    def prepare_sources(self):
        """Load whatever the generator reads (Fashion-MNIST); default nothing."""

    def scene_rng(self, split, index):
        """The generator that draws example ``index`` of ``split``."""
        variant = zlib.crc32(b"single" if self.builder_config.single else b"scenes")
        return np.random.default_rng([self.SEED, variant, SPLIT_CODES[split], index])

    def generate(self, rng, split):
        raise NotImplementedError

    def scene(self, split, index):
        """Example ``index`` of ``split`` as NumPy arrays (what gets stored)."""
        return self.generate(self.scene_rng(split, index), split)

    def _generate_examples(self, split, size):
        for index in range(size):
            scene = self.scene(split, index)
            objects = {"bbox": scene["boxes"], "label": scene["classes"]}
            if self.NUM_KEYPOINTS:
                objects["keypoints"] = scene["keypoints"]
            yield index, {
                "image": encode_png(scene["image"]),
                "image_id": SPLIT_CODES[split] * IMAGE_ID_STRIDE + index,
                "objects": objects,
                "instances": encode_png(scene["instances"]),
                "segmentation": encode_png(scene["segmentation"]),
            }


def encode_png(array):
    """PNG bytes of a uint8 [H, W] or RGB [H, W, 3] array.

    Fast zlib level 1: TFDS's own encoder (level 6) costs several times more
    on the noisy textures, and the files are only about 5 % smaller.
    """
    if array.ndim == 3:
        array = array[..., ::-1]  # OpenCV writes BGR
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(array), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ValueError(f"PNG encoding failed for an array of shape {array.shape}")
    return encoded.tobytes()


def to_element(example):
    """Map a stored example (see module docstring) to a kzoo dataset element."""
    objects = example["objects"]
    classes = tf.cast(objects["label"], tf.int32)
    ids = tf.range(1, tf.shape(classes)[0] + 1, dtype=tf.int32)
    instances = tf.cast(example["instances"][..., 0], tf.int32)
    element = {
        "image": example["image"],
        "boxes": tf.cast(objects["bbox"], tf.float32),
        "classes": classes,
        "masks": tf.cast(tf.equal(instances[None], ids[:, None, None]), tf.uint8),
        "segmentation": tf.cast(example["segmentation"][..., 0], tf.int32),
        "image_id": tf.cast(example["image_id"], tf.int64),
    }
    if "keypoints" in objects:
        element["keypoints"] = tf.cast(objects["keypoints"], tf.float32)
    return element
