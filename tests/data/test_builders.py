"""``kzoo.data.load`` through the TFDS builders, on the ``*tiny`` configs."""

import dataclasses
import hashlib

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import kzoo.data
from kzoo.data.scene_builder import IMAGE_ID_STRIDE, SPLIT_CODES
from tests.data.contract import check_element

TINY = ["shapes/tiny", "fashion_scenes/tiny", "fashion_scenes/single_tiny",
        "stick_figures/tiny", "stick_figures/single_tiny"]
SPLITS = ("train", "validation", "test")


@pytest.mark.parametrize("name", TINY)
def test_loaded_elements_obey_the_contract(name, load_all):
    info = kzoo.data.info(name)
    for split in SPLITS:
        elements = load_all(name, split)
        assert len(elements) == info.splits[split]
        for element in elements:
            assert tuple(sorted(element)) == tuple(sorted(info.features))
            check_element(element, info.num_classes, info.image_size, len(info.keypoint_names))


@pytest.mark.parametrize("name", TINY)
def test_splits_are_disjoint_and_ids_unique(name, load_all):
    ids, digests = {}, {}
    for split in SPLITS:
        elements = load_all(name, split)
        ids[split] = {int(e["image_id"]) for e in elements}
        digests[split] = {hashlib.sha256(e["image"].tobytes()).hexdigest() for e in elements}
        assert len(ids[split]) == len(elements) == len(digests[split])
        expected = {SPLIT_CODES[split] * IMAGE_ID_STRIDE + i for i in range(len(elements))}
        assert ids[split] == expected
    for a, b in [("train", "validation"), ("train", "test"), ("validation", "test")]:
        assert not ids[a] & ids[b]
        assert not digests[a] & digests[b]


@pytest.mark.parametrize(
    "name, full_name", [("shapes/tiny", "shapes"), ("stick_figures/single_tiny", "stick_figures/single")]
)
def test_stored_examples_equal_the_generator_and_tiny_is_a_prefix(name, full_name, tfds_dir, load_all):
    full = kzoo.data.builder(full_name, data_dir=tfds_dir)
    for element in load_all(name, "validation")[:4]:
        index = int(element["image_id"]) - IMAGE_ID_STRIDE
        # Seeds depend on (split, index) only, so the full config's example
        # with this index is the same scene, regenerated here.
        scene = full.scene("validation", index)
        np.testing.assert_array_equal(element["image"], scene["image"])
        np.testing.assert_array_equal(element["boxes"], scene["boxes"])
        np.testing.assert_array_equal(element["classes"], scene["classes"])
        np.testing.assert_array_equal(element["segmentation"], scene["segmentation"])


def test_loading_twice_gives_the_same_elements(tfds_dir, load_all):
    first = load_all("shapes/tiny", "test")
    again = list(kzoo.data.load("shapes/tiny", "test", data_dir=tfds_dir).as_numpy_iterator())
    assert [int(e["image_id"]) for e in first] == [int(e["image_id"]) for e in again]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a["image"], b["image"])


def test_element_spec_is_dense_with_the_contract_dtypes(tfds_dir):
    spec = kzoo.data.load("stick_figures/tiny", "test", data_dir=tfds_dir).element_spec
    expected = {
        "image": (tf.uint8, [128, 128, 3]),
        "boxes": (tf.float32, [None, 4]),
        "classes": (tf.int32, [None]),
        "masks": (tf.uint8, [None, 128, 128]),
        "keypoints": (tf.float32, [None, 14, 3]),
        "segmentation": (tf.int32, [128, 128]),
        "image_id": (tf.int64, []),
    }
    assert {k: (v.dtype, v.shape.as_list()) for k, v in spec.items()} == expected
    assert all(isinstance(v, tf.TensorSpec) for v in spec.values())


def test_builders_are_registered_with_tfds(tfds_dir, load_all):
    load_all("shapes/tiny", "train")  # prepared by now
    dataset = tfds.load("shapes/tiny", split="train", data_dir=tfds_dir, download=False)
    example = next(iter(dataset))
    assert set(example) == {"image", "image_id", "objects", "instances", "segmentation"}
    assert tfds.builder("fashion_scenes/single", data_dir=tfds_dir).info.features["image"].shape == (64, 64, 3)


def test_list_datasets_and_info():
    names = kzoo.data.list_datasets()
    assert names[:2] == ["shapes", "shapes/tiny"]
    assert {"fashion_scenes", "fashion_scenes/single", "stick_figures", "stick_figures/single"} <= set(names)
    assert set(TINY) <= set(names)
    assert "voc/2007" in kzoo.data.list_datasets(include_tfds=True) and "voc/2007" not in names

    single = kzoo.data.info("fashion_scenes/single")
    assert single.num_classes == 10 and single.class_names[0] == "t-shirt/top"
    assert single.image_size == (64, 64) and single.max_objects == 1
    assert single.splits == {"train": 12000, "validation": 1000, "test": 1000}
    shapes = kzoo.data.info("shapes")
    assert shapes == kzoo.data.info("shapes") and shapes.image_size == (128, 128)
    assert shapes.class_names[:3] == ("circle", "square", "triangle")
    assert kzoo.data.info("shapes/scenes").splits == kzoo.data.info("shapes").splits
    with pytest.raises(dataclasses.FrozenInstanceError):
        single.num_classes = 3


def test_stick_figure_joint_metadata():
    info = kzoo.data.info("stick_figures/single")
    assert info.class_names == ("person",) and len(info.keypoint_names) == 14
    words = {name.split("_", 1)[-1] for name in info.keypoint_names}
    assert words == {"foot", "knee", "hip", "shoulder", "elbow", "hand", "neck", "top"}
    flip = info.keypoint_flip_indices
    assert sorted(flip) == list(range(14)) and all(flip[flip[i]] == i for i in range(14))
    for i, j in enumerate(flip):
        swapped = info.keypoint_names[i].replace("left", "L").replace("right", "left").replace("L", "right")
        assert info.keypoint_names[j] == swapped
    assert all(0 <= a < 14 and 0 <= b < 14 and a != b for a, b in info.skeleton)
    assert {i for pair in info.skeleton for i in pair} == set(range(14))


def test_unknown_names_are_refused(tfds_dir):
    with pytest.raises(ValueError, match="Unknown dataset"):
        kzoo.data.load("no_such_dataset", data_dir=tfds_dir)
    with pytest.raises(ValueError, match="Unknown variant"):
        kzoo.data.info("shapes/huge")
    with pytest.raises(ValueError, match="Unknown dataset"):
        kzoo.data.info("mnist")
