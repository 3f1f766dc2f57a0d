"""kzoo's fast COCO evaluator against pycocotools, and the ``coco_evaluate`` contract."""

import numpy as np
import pytest

from kzoo.metrics import coco_evaluate, coco_evaluate_json, coco_evaluation
from kzoo.metrics import fast_coco
from kzoo.metrics.coco_eval import coco_arrays_from_json
from tests.metrics.coco_cases import random_coco, random_elements, reference

BOX_KEYS = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]


def _fast_json(dataset, results, iou_type):
    gt, dt, image_ids, category_ids = coco_arrays_from_json(dataset, results, iou_type)
    return fast_coco.evaluate(gt, dt, image_ids, category_ids, iou_type)


@pytest.mark.parametrize("seed", range(16))
def test_fast_equals_pycocotools_bbox(seed):
    # Odd seeds put boxes on a pixel grid: exact IoU ties, IoU exactly on thresholds.
    dataset, results = random_coco(
        seed, "bbox", num_images=40 + 5 * seed, num_categories=3 + seed % 6, grid=seed % 2 == 1
    )
    stats, precision, recall = reference(dataset, results, "bbox")
    ours = _fast_json(dataset, results, "bbox")
    # The cases must exercise the numbers, not compare -1 with -1.
    assert np.sum(stats > 0) >= 8
    np.testing.assert_allclose(ours["stats"], stats, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours["precision"], precision, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours["recall"], recall, rtol=0, atol=1e-6)


@pytest.mark.parametrize("seed", range(2))
def test_fast_equals_pycocotools_segm(seed):
    dataset, results = random_coco(100 + seed, "segm", num_images=25, num_categories=3)
    stats, precision, recall = reference(dataset, results, "segm")
    ours = _fast_json(dataset, results, "segm")
    assert np.sum(stats > 0) >= 6
    np.testing.assert_allclose(ours["stats"], stats, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours["precision"], precision, rtol=0, atol=1e-6)


@pytest.mark.parametrize("seed", range(2))
def test_fast_equals_pycocotools_keypoints(seed):
    dataset, results = random_coco(200 + seed, "keypoints", num_images=30, num_categories=2)
    stats, precision, recall = reference(dataset, results, "keypoints")
    ours = _fast_json(dataset, results, "keypoints")
    assert np.sum(stats > 0) >= 4
    np.testing.assert_allclose(ours["stats"], stats, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours["precision"], precision, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours["recall"], recall, rtol=0, atol=1e-6)


@pytest.mark.parametrize("iou_type", ["bbox", "segm", "keypoints"])
def test_backends_agree_on_kzoo_elements(iou_type):
    # 14 joints (the lecture's pose representation) with their own sigmas.
    elements, predictions = random_elements(7, num_images=24, joints=14)
    sigmas = np.linspace(0.03, 0.1, 14) if iou_type == "keypoints" else None
    ref = coco_evaluation(elements, predictions, iou_type, backend="pycocotools", keypoint_sigmas=sigmas)
    fast = coco_evaluation(elements, predictions, iou_type, backend="fast", keypoint_sigmas=sigmas)
    assert sum(v > 0 for v in ref["stats"].values()) >= 4
    assert fast["stats"].keys() == ref["stats"].keys()
    np.testing.assert_allclose(list(fast["stats"].values()), list(ref["stats"].values()), rtol=0, atol=1e-6)
    np.testing.assert_allclose(fast["precision"], ref["precision"], rtol=0, atol=1e-6)
    assert fast["per_class_ap"] == pytest.approx(ref["per_class_ap"], abs=1e-6)


def _one_image(gt_boxes, det_boxes, det_scores, det_classes=None, gt_classes=None, size=100):
    gt = {"height": size, "width": size, "boxes": np.array(gt_boxes, np.float32).reshape(-1, 4),
          "classes": np.zeros(len(gt_boxes), np.int32) if gt_classes is None else np.array(gt_classes, np.int32)}
    det = {"detection_boxes": np.array(det_boxes, np.float32).reshape(-1, 4),
           "detection_scores": np.array(det_scores, np.float32),
           "detection_classes": np.zeros(len(det_scores)) if det_classes is None else np.array(det_classes)}
    return gt, det


@pytest.mark.parametrize("backend", ["fast", "pycocotools"])
def test_hand_computed_ap(backend):
    # Two 10x10 px objects; detections: hit (0.9), miss (0.8), hit (0.7).
    # PR points: (R .5, P 1), (.5, .5), (1, 2/3). Interpolated precision is 1
    # at the 51 recall points 0.00-0.50 and 2/3 at the 50 points 0.51-1.00.
    a, b, miss = [0.0, 0.0, 0.1, 0.1], [0.5, 0.5, 0.6, 0.6], [0.3, 0.0, 0.4, 0.1]
    gt, det = _one_image([a, b], [a, miss, b], [0.9, 0.8, 0.7])
    result = coco_evaluate([gt], [det], backend=backend)
    expected_ap = (51 * 1.0 + 50 * 2 / 3) / 101
    assert result["AP"] == pytest.approx(expected_ap, abs=1e-12)
    assert result["AP50"] == pytest.approx(expected_ap, abs=1e-12)
    assert result["APs"] == pytest.approx(expected_ap, abs=1e-12)  # area 100 px is small
    assert result["APm"] == -1 and result["APl"] == -1  # no medium or large objects
    assert result["AR1"] == pytest.approx(0.5)  # one detection per image and class
    assert result["AR10"] == pytest.approx(1.0) and result["AR100"] == pytest.approx(1.0)


@pytest.mark.parametrize("backend", ["fast", "pycocotools"])
def test_no_predictions_gives_zero(backend):
    gt, _ = _one_image([[0.1, 0.1, 0.5, 0.5]], [], [])
    empty = {"detection_boxes": np.zeros((0, 4)), "detection_scores": np.zeros(0), "detection_classes": np.zeros(0)}
    result = coco_evaluate([gt, gt | {"image_id": 9}], [empty, empty], backend=backend)
    assert result["AP"] == 0.0 and result["AR100"] == 0.0 and result["APm"] == 0.0
    # Padded outputs with num_detections 0 are no predictions either.
    padded = {"detection_boxes": np.ones((5, 4)), "detection_scores": np.ones(5), "detection_classes": np.zeros(5),
              "num_detections": np.int32(0)}
    assert coco_evaluate([gt], [padded], backend=backend)["AP"] == 0.0


@pytest.mark.parametrize("backend", ["fast", "pycocotools"])
def test_images_without_predictions_still_count(backend):
    box = [0.1, 0.1, 0.5, 0.5]
    gt, det = _one_image([box], [box], [0.9])
    empty = {"detection_boxes": np.zeros((0, 4)), "detection_scores": np.zeros(0), "detection_classes": np.zeros(0)}
    alone = coco_evaluate([gt], [det], backend=backend)
    both = coco_evaluate([gt | {"image_id": 0}, gt | {"image_id": 1}], [det, empty], backend=backend)
    assert alone["AR100"] == 1.0 and alone["AP"] == pytest.approx(1.0)
    assert both["AR100"] == pytest.approx(0.5)  # the unseen object is a false negative
    assert both["AP"] == pytest.approx(51 / 101)  # precision 1 up to recall 0.5, then nothing


def test_class_zero_and_crowd_and_ground_truth_never_dropped():
    # Class 0 counts; a crowd region absorbs any number of detections and is
    # never a false negative; degenerate ground truth is kept (and missed).
    gt = {"height": 100, "width": 100, "classes": np.array([0, 0, 0], np.int32),
          "boxes": np.array([[0, 0, 0.2, 0.2], [0.5, 0.5, 1, 1], [0.3, 0.3, 0.3, 0.3]], np.float32),
          "is_crowd": np.array([False, True, False])}
    det = {"detection_boxes": np.array([[0, 0, 0.2, 0.2], [0.6, 0.6, 0.9, 0.9], [0.55, 0.55, 0.7, 0.7]], np.float32),
           "detection_scores": np.array([0.5, 0.9, 0.8], np.float32), "detection_classes": np.zeros(3)}
    for backend in ("fast", "pycocotools"):
        details = coco_evaluation([gt], [det], backend=backend)
        assert details["stats"]["AR100"] == pytest.approx(0.5)  # 1 of the 2 non-crowd objects
        assert details["stats"]["AP"] == pytest.approx(51 / 101)
        assert list(details["category_ids"]) == [1]


def test_batched_inputs_equal_per_image_inputs():
    elements, predictions = random_elements(3, num_images=6)
    for e in elements:
        for key in ("image", "masks", "keypoints"):
            del e[key]
        e.update(height=64, width=48)
    per_image = coco_evaluate(elements, predictions)
    k = max(len(p["detection_scores"]) for p in predictions)
    padded = [{name: np.pad(p[name], [(0, k - len(p[name]))] + [(0, 0)] * (p[name].ndim - 1))
               for name in ("detection_boxes", "detection_scores", "detection_classes")}
              | {"num_detections": p["num_detections"]} for p in predictions]
    max_boxes = max(len(e["classes"]) for e in elements) + 2
    def pad(name, value=0):
        return np.stack([np.pad(e[name], [(0, max_boxes - len(e[name]))] + [(0, 0)] * (e[name].ndim - 1),
                                constant_values=value) for e in elements])

    batch = {"height": np.full(6, 64), "width": np.full(6, 48), "image_id": np.stack([e["image_id"] for e in elements]),
             "boxes": pad("boxes"), "classes": pad("classes", -1), "is_crowd": pad("is_crowd")}
    pred_batch = {name: np.stack([p[name] for p in padded]) for name in padded[0]}
    assert coco_evaluate(batch, [pred_batch]) == per_image


def test_json_entry_point_and_errors():
    dataset, results = random_coco(5, "bbox", num_images=10)
    stats, _, _ = reference(dataset, results, "bbox")
    for backend in ("fast", "pycocotools"):
        out = coco_evaluate_json(dataset, results, "bbox", backend=backend)
        np.testing.assert_allclose([out["stats"][k] for k in BOX_KEYS], stats, atol=1e-6)
    gt, det = _one_image([[0, 0, 1, 1]], [[0, 0, 1, 1]], [1.0])
    with pytest.raises(ValueError, match="backend"):
        coco_evaluate([gt], [det], backend="nope")
    with pytest.raises(ValueError, match="predictions"):
        coco_evaluate([gt, gt], [det])
    with pytest.raises(ValueError, match="unique"):
        coco_evaluate([gt | {"image_id": 1}, gt | {"image_id": 1}], [det, det])
    points = gt | {"keypoints": np.ones((1, 14, 3), np.float32)}
    with pytest.raises(ValueError, match="sigmas"):
        coco_evaluate([points], [det | {"detection_keypoints": np.ones((1, 14, 2))}], "keypoints")


def test_equal_iou_tie_goes_to_the_last_ground_truth():
    # D (score 0.9) overlaps G1 and G2 equally (IoU 90/110); pycocotools lets
    # the later one, G2, take it. D2 (0.8) then finds G1 free (IoU 70/130 =
    # 0.54 >= 0.5); had D taken G1, D2 would be left with G2 (IoU 1/3): a
    # false positive. So AP50 is 1.
    dataset = {"images": [{"id": 1, "height": 50, "width": 50}], "categories": [{"id": 1, "name": "a"}],
               "annotations": [{"id": i, "image_id": 1, "category_id": 1, "bbox": [x, 0, 10, 10], "area": 100,
                                "iscrowd": 0} for i, x in ((1, 10), (2, 12))]}
    results = [{"image_id": 1, "category_id": 1, "bbox": [11, 0, 10, 10], "score": 0.9},
               {"image_id": 1, "category_id": 1, "bbox": [7, 0, 10, 10], "score": 0.8}]
    stats, precision, _ = reference(dataset, results, "bbox")
    ours = _fast_json(dataset, results, "bbox")
    assert stats[1] == pytest.approx(1.0) and ours["stats"][1] == pytest.approx(1.0)
    np.testing.assert_allclose(ours["precision"], precision, atol=1e-12)
