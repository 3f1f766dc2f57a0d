"""COCO json <-> kzoo elements: reading by hand-checked values, writing, and the round trip."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from kzoo.data import coco


def _write_png(path, image):
    tf.io.write_file(path, tf.io.encode_png(image))


def _hand_dataset(tmp_path):
    """Two images (one without annotations); categories 3 and 7 (with 3 keypoints)."""
    images = {"a.png": np.random.default_rng(0).integers(0, 255, (20, 40, 3), dtype=np.uint8),
              "b.png": np.zeros((10, 10, 3), np.uint8)}
    for name, image in images.items():
        _write_png(str(tmp_path / name), image)
    crowd = np.zeros((20, 40), np.uint8)
    crowd[10:20, 20:40] = 1
    counts = mask_utils.encode(np.asfortranarray(crowd))
    empty = mask_utils.encode(np.asfortranarray(np.zeros((20, 40), np.uint8)))  # a degenerate object
    dataset = {
        "images": [{"id": 11, "file_name": "a.png", "height": 20, "width": 40},
                   {"id": 5, "file_name": "b.png", "height": 10, "width": 10}],
        "categories": [{"id": 7, "name": "person", "keypoints": ["head", "hip", "foot"]}, {"id": 3, "name": "box"}],
        "annotations": [
            {"id": 1, "image_id": 11, "category_id": 7, "bbox": [4.0, 2.0, 8.0, 10.0], "area": 40.0, "iscrowd": 0,
             "segmentation": [[4, 2, 12, 2, 12, 12, 4, 12]],
             "keypoints": [6, 3, 2, 8, 7, 1, 0, 0, 0], "num_keypoints": 2},
            {"id": 2, "image_id": 11, "category_id": 3, "bbox": [20.0, 10.0, 20.0, 10.0], "area": 200.0, "iscrowd": 1,
             "segmentation": {"size": [20, 40], "counts": _uncompressed(crowd)}},
            {"id": 3, "image_id": 11, "category_id": 3, "bbox": [0.0, 0.0, 0.0, 0.0], "area": 0.0, "iscrowd": 0,
             "segmentation": {"size": [20, 40], "counts": empty["counts"].decode()}},
        ],
    }
    assert mask_utils.decode(counts).sum() == 200
    return dataset, images


def _uncompressed(mask):
    flat = mask.reshape(-1, order="F")
    changes = np.flatnonzero(np.diff(np.r_[0, flat, 1 - flat[-1]]))
    return np.diff(np.r_[0, changes]).tolist()


def test_read_by_hand(tmp_path):
    dataset, images = _hand_dataset(tmp_path)
    path = str(tmp_path / "ann.json")
    coco.write_coco_json(dataset, path)
    assert [c["id"] for c in coco.coco_categories(path)] == [3, 7]  # class 0 is category 3
    first, second = list(coco.coco_elements(path, str(tmp_path), masks=True, keypoints=True))
    np.testing.assert_array_equal(first["image"], images["a.png"])
    assert first["image_id"] == 11 and first["image_id"].dtype == np.int64
    # bbox [x 4, y 2, w 8, h 10] in a 40 x 20 image -> [2/20, 4/40, 12/20, 12/40].
    np.testing.assert_allclose(first["boxes"][0], [0.1, 0.1, 0.6, 0.3], rtol=1e-6)
    np.testing.assert_array_equal(first["classes"], [1, 0, 0])
    np.testing.assert_array_equal(first["is_crowd"], [False, True, False])
    np.testing.assert_array_equal(first["area"], [40, 200, 0])
    # Keypoints (x 6, y 3, v 2) -> (y 3/20, x 6/40, 2); unlabeled stays 0; J from the category.
    np.testing.assert_allclose(first["keypoints"][0], [[0.15, 0.15, 2], [0.35, 0.2, 1], [0, 0, 0]], rtol=1e-6)
    assert first["keypoints"].shape == (3, 3, 3) and not first["keypoints"][1:].any()
    reference = COCO()
    reference.dataset = json.load(open(path))
    reference.createIndex()
    for i, ann in enumerate(dataset["annotations"]):
        np.testing.assert_array_equal(first["masks"][i], reference.annToMask(reference.anns[ann["id"]]))
    assert first["masks"].dtype == np.uint8 and first["masks"][1].sum() == 200
    assert second["boxes"].shape == (0, 4) and second["masks"].shape == (0, 10, 10)
    assert second["classes"].dtype == np.int32 and second["image"].shape == (10, 10, 3)
    # Without an image folder the size is given instead of pixels.
    sized = next(coco.coco_elements(dataset))
    assert "image" not in sized and (sized["height"], sized["width"]) == (20, 40)


def test_read_errors(tmp_path):
    dataset, _ = _hand_dataset(tmp_path)
    wrong = dict(dataset, annotations=[dict(dataset["annotations"][0], category_id=99)])
    with pytest.raises(ValueError, match="unknown category"):
        list(coco.coco_elements(wrong))
    resized = dict(dataset, images=[dict(dataset["images"][0], height=21)], annotations=[])
    with pytest.raises(ValueError, match="json says"):
        list(coco.coco_elements(resized, str(tmp_path)))


def test_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    elements = []
    for i, (h, w) in enumerate([(24, 32), (17, 9), (30, 30)]):
        m = i + 1
        corner = rng.random((m, 2)) * 0.5
        masks = (rng.random((m, h, w)) < 0.3).astype(np.uint8)
        keypoints = np.concatenate([rng.random((m, 4, 2)), rng.integers(0, 3, (m, 4, 1))], -1).astype(np.float32)
        image = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        _write_png(str(tmp_path / f"{i}.png"), image)
        elements.append({"image": image, "image_id": np.int64(100 + i),
                         "boxes": np.concatenate([corner, corner + rng.random((m, 2)) * 0.5], 1).astype(np.float32),
                         "classes": rng.integers(0, 3, m).astype(np.int32), "is_crowd": rng.random(m) < 0.3,
                         "masks": masks, "keypoints": keypoints})
    categories = [{"id": 2, "name": "a", "keypoints": list("wxyz")}, {"id": 4, "name": "b"}, {"id": 9, "name": "c"}]
    dataset = coco.groundtruth_to_coco(elements, categories)
    for image, i in zip(dataset["images"], range(3)):
        image["file_name"] = f"{i}.png"
    path = str(tmp_path / "gt.json")
    coco.write_coco_json(dataset, path)
    assert not os.path.exists(path + ".tmp")
    assert [a["id"] for a in dataset["annotations"]] == list(range(1, 7))  # ids start at 1
    back = list(coco.coco_elements(path, str(tmp_path), masks=True, keypoints=True))
    for original, read in zip(elements, back):
        for key in ("image", "image_id", "boxes", "classes", "is_crowd", "masks", "keypoints"):
            np.testing.assert_array_equal(read[key], original[key], err_msg=key)
        np.testing.assert_array_equal(read["area"], original["masks"].sum((1, 2)))


def test_predictions_to_coco():
    element = {"height": 20, "width": 40, "boxes": np.zeros((0, 4), np.float32), "classes": np.zeros(0, np.int32),
               "image_id": np.int64(3)}
    prediction = {"detection_boxes": np.array([[[0.1, 0.25, 0.6, 0.75], [0, 0, 1, 1]]], np.float32),
                  "detection_scores": np.array([[0.75, 0.5]], np.float32),
                  "detection_classes": np.array([[1, 0]], np.float32), "num_detections": np.array([1]),
                  "detection_masks": np.ones((1, 2, 4, 4), np.float32),
                  "detection_keypoints": np.array([[[[0.5, 0.25], [0.1, 0.5]], [[0, 0], [0, 0]]]], np.float32)}
    categories = [{"id": 5, "name": "a"}, {"id": 8, "name": "b"}]
    (box,) = coco.predictions_to_coco([prediction], [element], categories)
    # [0.1, 0.25, 0.6, 0.75] of 20 x 40 px -> x 10, y 2, w 20, h 10; class 1 -> category 8.
    assert box == {"image_id": 3, "category_id": 8, "score": 0.75, "bbox": pytest.approx([10.0, 2.0, 20.0, 10.0])}
    (segm,) = coco.predictions_to_coco([prediction], [element], categories, iou_type="segm")
    assert "bbox" not in segm and mask_utils.area(segm["segmentation"]) == 200
    (points,) = coco.predictions_to_coco([prediction], [element], categories, iou_type="keypoints")
    assert points["keypoints"] == pytest.approx([10.0, 10.0, 1.0, 20.0, 2.0, 1.0])  # (x, y, v) pixels


def test_coco_dataset_is_a_tf_data_pipeline(tmp_path):
    dataset, images = _hand_dataset(tmp_path)
    ds = coco.coco_dataset(dataset, str(tmp_path), masks=True)
    assert ds.element_spec["boxes"].shape.as_list() == [None, 4]
    assert ds.element_spec["image"].dtype == tf.uint8
    elements = list(ds.as_numpy_iterator())
    expected = list(coco.coco_elements(dataset, str(tmp_path), masks=True))
    assert len(elements) == 2
    for got, want in zip(elements, expected):
        assert got.keys() == want.keys()
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])
