"""The COCO reader refuses malformed files with an error naming the file and the culprit, never guesses;
category ids round-trip exactly."""

import copy
import json

import numpy as np
import pytest

from kzoo.data.coco import coco_elements, groundtruth_to_coco

GOOD = {
    "images": [{"id": 7, "height": 20, "width": 30, "file_name": "a.png"},
               {"id": 9, "height": 20, "width": 30, "file_name": "b.png"}],
    "annotations": [
        {"id": 1, "image_id": 7, "category_id": 3, "bbox": [1, 2, 10, 5], "area": 50, "iscrowd": 0,
         "segmentation": [[1, 2, 11, 2, 11, 7, 1, 7]]},
        {"id": 2, "image_id": 9, "category_id": 90, "bbox": [0, 0, 4, 4], "area": 16, "iscrowd": 0,
         "segmentation": [[0, 0, 4, 0, 4, 4, 0, 4]]},
    ],
    "categories": [{"id": 1, "name": "one"}, {"id": 3, "name": "three"}, {"id": 90, "name": "ninety"}],
}


def _broken(change):
    dataset = copy.deepcopy(GOOD)
    change(dataset)
    return dataset


BROKEN = {
    "annotation of an unknown image": (lambda d: d["annotations"][0].update(image_id=8), "not among the images"),
    "duplicated image id": (lambda d: d["images"][1].update(id=7), "appears twice"),
    "NaN bbox": (lambda d: d["annotations"][0].update(bbox=[1, float("nan"), 3, 4]), "not finite"),
    "missing bbox": (lambda d: d["annotations"][0].pop("bbox"), "no bbox"),
    "short bbox": (lambda d: d["annotations"][0].update(bbox=[1, 2, 3]), "no bbox"),
    "missing categories": (lambda d: d.pop("categories"), "no 'categories'"),
    "missing images": (lambda d: d.pop("images"), "no 'images'"),
    "unknown category": (lambda d: d["annotations"][1].update(category_id=4), "unknown category id 4"),
    "image without a size": (lambda d: d["images"][0].pop("height"), "has no height"),
    "missing segmentation": (lambda d: d["annotations"][0].pop("segmentation"), "no segmentation"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_malformed_files_are_refused_by_name(case, tmp_path):
    change, message = BROKEN[case]
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(_broken(change)))
    with pytest.raises(ValueError, match=message) as raised:
        list(coco_elements(str(path), masks=True))
    assert str(path) in str(raised.value)


def test_category_ids_round_trip_exactly():
    elements = list(coco_elements(GOOD))
    np.testing.assert_array_equal(elements[0]["classes"], [1])  # id 3 is the second category
    written = groundtruth_to_coco(elements)
    assert [a["category_id"] for a in written["annotations"]] == [3, 90]
    assert [c["id"] for c in written["categories"]] == [1, 3, 90]


def test_an_image_that_cannot_be_decoded_is_named(tmp_path):
    (tmp_path / "a.png").write_bytes(b"\\x89PNG not really")
    (tmp_path / "b.png").write_bytes(b"")
    with pytest.raises(ValueError, match="a.png cannot be decoded") as error_info:
        list(coco_elements(GOOD, image_dir=str(tmp_path)))
    # TF's own words, without the op's name around them.
    assert "function_node" not in str(error_info.value) and "[Op:" not in str(error_info.value)
    with pytest.raises(ValueError, match="does not exist"):
        list(coco_elements(GOOD, image_dir=str(tmp_path / "elsewhere")))
