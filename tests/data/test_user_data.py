"""Datasets a user brings (kzoo.data.user_data): COCO json per split and a folder of images per class."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

import kzoo.data
from kzoo.data import user_data

CATEGORIES = [{"id": 3, "name": "one"}, {"id": 7, "name": "seven"}]


def _write_png(path, image):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tf.io.write_file(path, tf.io.encode_png(image))


def write_coco_folder(root, splits=("train", "val", "test"), count=6, size=(40, 56), seed=0):
    """A COCO dataset folder: bright rectangles of two categories (ids 3 and 7) on noise, one or two per image."""
    rng = np.random.default_rng(seed)
    height, width = size
    for split in splits:
        images, annotations = [], []
        for i in range(count):
            image = rng.integers(0, 60, (height, width, 3), dtype=np.uint8)
            image_id = 100 * (splits.index(split) + 1) + i
            for k in range(1 + i % 2):
                y, x = int(rng.integers(0, height - 16)), int(rng.integers(0, width - 20))
                h, w = int(rng.integers(8, 16)), int(rng.integers(8, 20))
                category = CATEGORIES[(i + k) % 2]
                image[y : y + h, x : x + w] = 200 if category["id"] == 3 else 120
                annotations.append({
                    "id": len(annotations) + 1, "image_id": image_id, "category_id": category["id"],
                    "bbox": [x, y, w, h], "area": float(w * h), "iscrowd": 0,
                })
            file_name = f"{split}/{image_id}.png"
            _write_png(os.path.join(root, "images", file_name), image)
            images.append({"id": image_id, "file_name": file_name, "height": height, "width": width})
        with open(os.path.join(root, f"{split}.json"), "w") as handle:
            json.dump({"images": images, "annotations": annotations, "categories": CATEGORIES}, handle)
    return str(root)


def write_class_folders(root, classes=("cat", "dog"), splits=("train", "test"), count=3):
    rng = np.random.default_rng(1)
    for split in splits:
        for index, name in enumerate(classes):
            for i in range(count):
                image = np.full((20 + i, 24, 3), 80 * index, np.uint8) + rng.integers(0, 20, (20 + i, 24, 3), np.uint8)
                _write_png(os.path.join(root, split, name, f"{i}.png"), image)
    return str(root)


def test_a_coco_folder_reads_as_elements_with_its_categories(tmp_path):
    folder = write_coco_folder(tmp_path / "digits")
    info = kzoo.data.info(folder)
    assert info.class_names == ("one", "seven")
    assert info.splits == {"train": 6, "validation": 6, "test": 6}
    assert info.max_objects == 2 and "masks" not in info.features
    elements = list(kzoo.data.load(folder, "validation").as_numpy_iterator())
    assert [int(e["image_id"]) for e in elements] == list(range(200, 206))
    first = json.load(open(os.path.join(folder, "val.json")))
    x, y, w, h = first["annotations"][0]["bbox"]
    np.testing.assert_allclose(elements[0]["boxes"][0], [y / 40, x / 56, (y + h) / 40, (x + w) / 56], rtol=1e-6)
    assert elements[0]["classes"][0] == 0 and elements[0]["image"].shape == (40, 56, 3)
    np.testing.assert_array_equal(elements[0]["category_ids"], [3, 7])


def test_a_class_folder_reads_as_one_object_per_image(tmp_path):
    folder = write_class_folders(tmp_path / "pets")
    info = kzoo.data.info(folder)
    assert info.class_names == ("cat", "dog") and info.splits == {"train": 6, "test": 6}
    elements = list(kzoo.data.load(folder, "test").as_numpy_iterator())
    assert [int(e["classes"][0]) for e in elements] == [0, 0, 0, 1, 1, 1]
    assert elements[1]["image"].shape == (21, 24, 3)
    np.testing.assert_array_equal(elements[0]["boxes"], [[0, 0, 1, 1]])


def test_what_is_not_there_is_named(tmp_path):
    coco_folder = write_coco_folder(tmp_path / "one_split", splits=("train",))
    with pytest.raises(ValueError, match="no test split"):
        kzoo.data.load(coco_folder, "test")
    with pytest.raises(ValueError, match="split must be one of"):
        kzoo.data.load(coco_folder, "train[:10%]")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="needs train.json"):
        kzoo.data.info(str(empty))
    pets = write_class_folders(tmp_path / "pets")
    _write_png(os.path.join(pets, "test", "bird", "0.png"), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="bird/ is a class that"):
        kzoo.data.load(pets, "test")
    with pytest.raises(ValueError, match="not a folder, a built-in or a TFDS name"):
        kzoo.data.info(str(tmp_path / "missing_folder"))
    # A json file is not a dataset: the answer names the folder to pass instead.
    for call in (kzoo.data.info, kzoo.data.load):
        with pytest.raises(ValueError, match=f"name a COCO dataset by its folder \\({coco_folder}\\)"):
            call(os.path.join(coco_folder, "train.json"))


def test_splits_with_other_categories_are_refused(tmp_path):
    folder = write_coco_folder(tmp_path / "d")
    path = os.path.join(folder, "test.json")
    data = json.load(open(path))
    data["categories"] = [{"id": 3, "name": "one"}, {"id": 7, "name": "eight"}]
    json.dump(data, open(path, "w"))
    with pytest.raises(ValueError, match="test split's categories differ"):
        user_data.info_fields(folder)
