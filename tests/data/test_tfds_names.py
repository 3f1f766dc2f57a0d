"""TFDS names (voc, coco) mapped into kzoo elements, offline through mock_data."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import kzoo.data
from kzoo.data import tfds_names

VOC_EXAMPLE = {
    "image": np.full((5, 7, 3), 9, np.uint8),
    "image/filename": b"2008_000123.jpg",
    "labels": np.array([14, 0], np.int64),
    "labels_no_difficult": np.array([14], np.int64),
    "objects": {
        "bbox": np.array([[0.1, 0.2, 0.5, 0.6], [0.0, 0.0, 1.0, 1.0]], np.float32),
        "label": np.array([14, 0], np.int64),
        "is_difficult": np.array([False, True]),
        "is_truncated": np.array([True, False]),
        "pose": np.array([0, 3], np.int64),
    },
}
COCO_EXAMPLE = {
    "image": np.full((6, 4, 3), 200, np.uint8),
    "image/filename": b"000000397133.jpg",
    "image/id": np.int64(397133),
    "objects": {
        "area": np.array([12, 3], np.int64),
        "bbox": np.array([[0.25, 0.5, 0.75, 1.0], [0.0, 0.0, 0.5, 0.25]], np.float32),
        "id": np.array([1, 2], np.int64),
        "is_crowd": np.array([True, False]),
        "label": np.array([79, 0], np.int64),
    },
}


def _serve(example):
    def as_dataset(self, *args, **kwargs):
        return tf.data.Dataset.from_tensors(example)

    return as_dataset


@pytest.mark.parametrize("name", ["voc/2007", "voc/2012"])
def test_voc_mapping_by_hand(name, tmp_path):
    with tfds.testing.mock_data(as_dataset_fn=_serve(VOC_EXAMPLE)):
        element = next(kzoo.data.load(name, "train", data_dir=str(tmp_path)).as_numpy_iterator())
    assert set(element) == set(tfds_names.FEATURES)
    np.testing.assert_array_equal(element["image"], VOC_EXAMPLE["image"])
    np.testing.assert_array_equal(element["boxes"], VOC_EXAMPLE["objects"]["bbox"])
    assert element["classes"].dtype == np.int32 and element["classes"].tolist() == [14, 0]
    assert element["is_crowd"].tolist() == [False, True]
    assert element["image_id"] == 2008000123 and element["image_id"].dtype == np.int64


@pytest.mark.parametrize("name", ["coco/2014", "coco/2017"])
def test_coco_mapping_by_hand(name, tmp_path):
    with tfds.testing.mock_data(as_dataset_fn=_serve(COCO_EXAMPLE)):
        element = next(kzoo.data.load(name, "validation", data_dir=str(tmp_path)).as_numpy_iterator())
    np.testing.assert_array_equal(element["image"], COCO_EXAMPLE["image"])
    np.testing.assert_array_equal(element["boxes"], COCO_EXAMPLE["objects"]["bbox"])
    assert element["classes"].tolist() == [79, 0] and element["classes"].dtype == np.int32
    assert element["is_crowd"].tolist() == [True, False]
    assert element["image_id"] == 397133


@pytest.mark.parametrize("name", tfds_names.NAMES)
def test_random_mock_data_maps_to_contract_dtypes(name, tmp_path):
    with tfds.testing.mock_data(num_examples=3):
        elements = list(kzoo.data.load(name, "train", data_dir=str(tmp_path)).as_numpy_iterator())
    assert len(elements) == 3
    for element in elements:
        assert element["image"].dtype == np.uint8 and element["image"].ndim == 3
        assert element["boxes"].dtype == np.float32 and element["boxes"].shape[1:] == (4,)
        assert element["classes"].dtype == np.int32 and element["classes"].ndim == 1
        assert element["is_crowd"].dtype == bool and element["image_id"].dtype == np.int64


def test_voc_filename_without_digits_gets_id_zero():
    example = dict(VOC_EXAMPLE, **{"image/filename": tf.constant("abc.jpg")})
    assert int(tfds_names.voc_to_element(example)["image_id"]) == 0


def test_unprepared_dataset_is_a_clear_error_not_a_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="not prepared.*never downloads"):
        kzoo.data.load("voc/2007", "train", data_dir=str(tmp_path))


def test_info_of_tfds_names_uses_their_class_names():
    voc, coco = kzoo.data.info("voc/2007"), kzoo.data.info("coco/2017")
    assert voc.num_classes == 20 and "person" in voc.class_names and voc.class_names[0] == "aeroplane"
    assert coco.num_classes == 80 and coco.class_names[0] == "person"
    assert voc.image_size is None and "is_crowd" in voc.features
    with pytest.raises(ValueError, match="Unsupported"):
        tfds_names.class_names("mnist")
