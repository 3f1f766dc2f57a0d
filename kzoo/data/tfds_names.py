"""TFDS datasets the user already has, mapped into kzoo dataset elements.

``kzoo.data.load("voc/2007")`` reads a prepared TFDS dataset and yields the
same elements as the built-in ones. Nothing is downloaded here: when the
data is not prepared the error says how to prepare it (``tfds build`` on a
machine with internet, or TFDS's manual-download instructions).

Mapping (TFDS boxes already use kzoo's normalized [ymin, xmin, ymax, xmax]):

- ``voc/2007``, ``voc/2012``: ``objects/bbox`` -> ``boxes``, ``objects/label``
  (20 classes) -> ``classes``, ``objects/is_difficult`` -> ``is_crowd``, the
  digits of ``image/filename`` -> ``image_id`` (``2008_000008.jpg`` ->
  2008000008).
- ``coco/2014``, ``coco/2017``: ``objects/bbox`` -> ``boxes``,
  ``objects/label`` (80 contiguous classes) -> ``classes``,
  ``objects/is_crowd`` -> ``is_crowd``, ``image/id`` -> ``image_id``. TFDS's
  COCO has no instance masks.

``is_crowd`` (bool [M]) marks objects that training ignores and evaluation
neither rewards nor counts as missed: COCO's crowd regions and VOC's
"difficult" objects are treated alike by both evaluators.
"""

import tensorflow as tf
import tensorflow_datasets as tfds

NAMES = ("voc/2007", "voc/2012", "coco/2014", "coco/2017")
FEATURES = ("image", "boxes", "classes", "is_crowd", "image_id")
# TFDS learns COCO's names from the annotations it downloads; until then its
# labels are "0".."79". These are the same 80 in category-id order.
COCO_CLASS_NAMES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)


def voc_to_element(example):
    """Map a TFDS ``voc`` example to a kzoo element."""
    objects = example["objects"]
    digits = tf.strings.regex_replace(example["image/filename"], "[^0-9]", "")
    # The leading "0" keeps a name without digits parseable (it becomes id 0).
    image_id = tf.strings.to_number(tf.strings.join(["0", digits]), tf.int64)
    return {
        "image": example["image"],
        "boxes": tf.cast(objects["bbox"], tf.float32),
        "classes": tf.cast(objects["label"], tf.int32),
        "is_crowd": tf.cast(objects["is_difficult"], tf.bool),
        "image_id": image_id,
    }


def coco_to_element(example):
    """Map a TFDS ``coco`` (detection config) example to a kzoo element."""
    objects = example["objects"]
    return {
        "image": example["image"],
        "boxes": tf.cast(objects["bbox"], tf.float32),
        "classes": tf.cast(objects["label"], tf.int32),
        "is_crowd": tf.cast(objects["is_crowd"], tf.bool),
        "image_id": tf.cast(example["image/id"], tf.int64),
    }


def _check(name):
    if name not in NAMES:
        raise ValueError(f"Unsupported TFDS dataset {name!r}; kzoo maps {list(NAMES)}.")


def class_names(name):
    """Class names of a supported TFDS dataset (from TFDS's own metadata)."""
    _check(name)
    if name.startswith("coco"):
        return COCO_CLASS_NAMES
    return tuple(tfds.builder(name).info.features["objects"]["label"].names)


def load(name, split="train", data_dir=None):
    """Read prepared TFDS dataset ``name`` as kzoo elements (never downloads).

    Raises:
        FileNotFoundError: the dataset is not prepared in ``data_dir``.
    """
    _check(name)
    builder = tfds.builder(name, data_dir=data_dir)
    try:
        dataset = builder.as_dataset(split=split, shuffle_files=False)
    except AssertionError as error:  # how TFDS reports a dataset that is not prepared
        raise FileNotFoundError(
            f"TFDS dataset {name} is not prepared in {builder.data_dir}. Prepare it on a "
            f"machine with internet access (`tfds build {name} --data_dir DIR`, or follow "
            "TFDS's manual download instructions for it) and pass that folder as data_dir "
            "or set TFDS_DATA_DIR. kzoo never downloads it."
        ) from error
    to_element = voc_to_element if name.startswith("voc") else coco_to_element
    return dataset.map(to_element, num_parallel_calls=tf.data.AUTOTUNE)
