"""A hand-written COCO folder with a mistake gives one line naming the file (and annotation); good data loads.

Folders come from ``write_coco_folder``: 40 x 56 images, ids 100.. (train), 200.. (val.json), 300.. (test),
annotation ids 1.. in each file.
"""

import json
import os

import numpy as np
import pytest

import kzoo.data
from kzoo.data import coco
from tests.data.test_user_data import write_coco_folder


def _edit(folder, file_name, change):
    """Applies ``change`` to the dict of ``folder/file_name``; returns the file's path."""
    path = os.path.join(folder, file_name)
    with open(path) as handle:
        data = json.load(handle)
    change(data)
    with open(path, "w") as handle:
        json.dump(data, handle)
    return path


def _message(call, *args):
    with pytest.raises(ValueError) as raised:
        call(*args)
    assert "\n" not in str(raised.value)
    return str(raised.value)


def _set_bbox(annotation_index, bbox):
    return lambda data: data["annotations"][annotation_index].update(bbox=bbox)


def test_a_negative_width_or_height_is_refused_with_the_file_and_annotation(tmp_path):
    for index, bbox in enumerate(([2, 3, -10, 8], [2, 3, 10, -0.5])):
        folder = write_coco_folder(tmp_path / str(index))
        path = _edit(folder, "train.json", _set_bbox(1, bbox))
        expected = f"{path}: annotation 2 has a bbox [x, y, w, h] with a negative width or height: {bbox}"
        assert _message(kzoo.data.info, folder) == expected
        assert _message(kzoo.data.load, folder, "train") == expected
    folder = write_coco_folder(tmp_path / "test_split")
    path = _edit(folder, "test.json", _set_bbox(0, [1, 1, -1, 1]))
    assert _message(kzoo.data.info, folder).startswith(f"{path}: annotation 1 has a bbox")


def test_zero_sized_boxes_stay_and_overhanging_ones_are_clipped_to_the_image(tmp_path):
    folder = write_coco_folder(tmp_path / "d")
    # 56 wide, 40 high: a zero-width box, one a pixel past the right and bottom edges, one far past the top left.
    boxes = [[10, 4, 0, 8], [50, 30, 7, 11], [-20, -5, 30, 15]]
    _edit(folder, "train.json", lambda data: [data["annotations"][i].update(bbox=b) for i, b in enumerate(boxes)])
    elements = list(kzoo.data.load(folder, "train").as_numpy_iterator())
    got = np.concatenate([e["boxes"] for e in elements])[:3]
    np.testing.assert_allclose(got, [[4 / 40, 10 / 56, 12 / 40, 10 / 56], [30 / 40, 50 / 56, 1, 1],
                                     [0, 0, 10 / 40, 10 / 56]], rtol=1e-6)
    assert all(np.all((e["boxes"] >= 0) & (e["boxes"] <= 1)) for e in elements)
    areas = [a["area"] for a in json.load(open(os.path.join(folder, "train.json")))["annotations"][:3]]
    np.testing.assert_array_equal(np.concatenate([e["area"] for e in elements])[:3], areas)  # the json's, as is


def test_a_box_wholly_outside_its_image_is_refused(tmp_path):
    folder = write_coco_folder(tmp_path / "d")
    path = _edit(folder, "train.json", _set_bbox(0, [60, 5, 10, 10]))
    image_id = json.load(open(path))["annotations"][0]["image_id"]
    assert _message(kzoo.data.info, folder) == (
        f"{path}: annotation 1 has a bbox [x, y, w, h] wholly outside its 56x40 image {image_id}: [60, 5, 10, 10]"
    )


def test_splits_that_need_annotations_must_have_them(tmp_path):
    folder = write_coco_folder(tmp_path / "d")
    path = _edit(folder, "train.json", lambda data: data.pop("annotations"))
    expected = f"{path}: no 'annotations' list, which the train split needs (only test.json may lack it)"
    assert _message(kzoo.data.info, folder) == expected
    assert _message(kzoo.data.load, folder, "test") == expected  # every load reads train.json's classes
    _edit(folder, "train.json", lambda data: data.update(annotations=[]))
    assert _message(kzoo.data.info, folder) == f"{path}: the 'annotations' list is empty: no object to train on"

    folder = write_coco_folder(tmp_path / "e")
    val = _edit(folder, "val.json", lambda data: data.pop("annotations"))
    assert _message(kzoo.data.info, folder) == (
        f"{val}: no 'annotations' list, which the validation split needs (only test.json may lack it)"
    )
    _edit(folder, "val.json", lambda data: data.update(annotations=[]))  # legal: images without objects
    assert kzoo.data.info(folder).splits["validation"] == 6
    assert all(len(e["boxes"]) == 0 for e in kzoo.data.load(folder, "validation").as_numpy_iterator())
    _edit(folder, "test.json", lambda data: data.pop("annotations"))  # COCO's own test json has none
    elements = list(kzoo.data.load(folder, "test").as_numpy_iterator())
    assert len(elements) == 6 and all(e["boxes"].shape == (0, 4) for e in elements)


@pytest.mark.parametrize("key", ["images", "categories"])
def test_a_missing_list_is_named_with_its_file(key, tmp_path):
    folder = write_coco_folder(tmp_path / "d")
    for file_name, split in (("val.json", "validation"), ("train.json", "train")):
        path = _edit(folder, file_name, lambda data: data.pop(key))
        assert _message(kzoo.data.info, folder) == f"{path}: no {key!r} list"
        assert _message(kzoo.data.load, folder, split) == f"{path}: no {key!r} list"
    assert _message(coco.coco_categories, path) == f"{path}: no {key!r} list"


def test_a_file_that_is_not_json_is_named(tmp_path):
    folder = write_coco_folder(tmp_path / "d")
    for file_name in ("val.json", "train.json"):  # a broken val.json used to be skipped silently
        path = os.path.join(folder, file_name)
        with open(path, "w") as handle:
            handle.write('{"images": [')
        assert _message(kzoo.data.info, folder) == (
            f"{path}: not valid JSON: Expecting value: line 1 column 13 (char 12)"
        )
    assert _message(coco.load_coco_json, path).startswith(f"{path}: not valid JSON")


def test_duplicate_ids_are_blamed_on_their_own_file(tmp_path):
    folder = write_coco_folder(tmp_path / "d")
    path = _edit(folder, "train.json", lambda data: data["categories"].append({"id": 3, "name": "dup"}))
    assert _message(kzoo.data.info, folder) == f"{path}: category id 3 appears twice"
    folder = write_coco_folder(tmp_path / "e")
    path = _edit(folder, "val.json", lambda data: data["images"][1].update(id=200))
    assert _message(kzoo.data.info, folder) == f"{path}: image id 200 appears twice"
    path = _edit(folder, "val.json", lambda data: [data["images"][1].update(id=201),
                                                   data["annotations"][1].update(id=1)])
    assert _message(kzoo.data.load, folder, "validation") == f"{path}: annotation id 1 appears twice"
    _edit(folder, "val.json", lambda data: data["annotations"][1].update(id=2))
    assert kzoo.data.info(folder).splits == {"train": 6, "validation": 6, "test": 6}


def test_missing_image_files_are_found_when_the_split_loads(tmp_path):
    folder = write_coco_folder(tmp_path / "d")
    os.remove(os.path.join(folder, "images", "train", "102.png"))
    path = os.path.join(folder, "train.json")
    image_dir = os.path.join(folder, "images")
    assert _message(kzoo.data.load, folder, "train") == (
        f"{path}: 1 of its 6 image files not found in {image_dir}: train/102.png"
    )
    assert len(list(kzoo.data.load(folder, "validation").as_numpy_iterator())) == 6
    for name in ("100", "101", "103", "105"):
        os.remove(os.path.join(image_dir, "train", f"{name}.png"))
    assert _message(kzoo.data.load, folder, "train") == (
        f"{path}: 5 of its 6 image files not found in {image_dir}: train/100.png, train/101.png, train/102.png, ..."
    )
