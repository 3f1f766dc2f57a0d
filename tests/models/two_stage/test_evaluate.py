"""Instance segmentation and keypoint detection evaluation: both backends agree, and perfect predictions score 1."""

import numpy as np
import pytest

import kzoo
from kzoo.data import stick_figures
from kzoo.models.two_stage.evaluate import evaluate_instance_segmentation, evaluate_keypoint_detection
from tests.metrics.coco_cases import random_elements

CLASS_NAMES = ("a", "b", "c", "d")


@pytest.mark.parametrize("evaluate, prefix", [(evaluate_instance_segmentation, "mask"),
                                              (evaluate_keypoint_detection, "keypoint")])
def test_backends_give_the_same_box_and_instance_numbers(evaluate, prefix):
    elements, predictions = random_elements(3, num_images=18, joints=14)
    info = _info_with(CLASS_NAMES)
    ref = evaluate(elements, predictions, info, backend="pycocotools")
    fast = evaluate(elements, predictions, info, backend="fast")
    assert ref[f"{prefix}_AP50"] > 0 and ref["AP50"] > 0
    assert fast.keys() == ref.keys()
    for key, value in ref.items():
        assert fast[key] == pytest.approx(value, abs=1e-6), key


def _info_with(class_names):
    import dataclasses

    return dataclasses.replace(kzoo.data.info("stick_figures"), class_names=tuple(class_names))


def _one_object(size=40):
    mask = np.zeros((size, size), np.uint8)
    mask[8:32, 12:28] = 1
    box = np.array([[8 / size, 12 / size, 32 / size, 28 / size]], np.float32)
    keypoints = np.zeros((1, 14, 3), np.float32)
    keypoints[0, :, 0] = np.linspace(0.25, 0.75, 14)
    keypoints[0, :, 1] = 0.5
    keypoints[0, :, 2] = 1.0
    element = {"image": np.zeros((size, size, 3), np.uint8), "boxes": box, "classes": np.array([0], np.int32),
               "masks": mask[None], "keypoints": keypoints}
    prediction = {"detection_boxes": box, "detection_scores": np.array([0.9], np.float32),
                  "detection_classes": np.array([0], np.int32), "num_detections": np.int32(1),
                  "detection_masks": np.ones((1, 28, 28), np.float32), "detection_keypoints": keypoints[:, :, :2],
                  "detection_keypoint_scores": np.ones((1, 14), np.float32)}
    return element, prediction


@pytest.mark.parametrize("backend", ["fast", "pycocotools"])
def test_perfect_masks_and_keypoints_score_one(backend):
    element, prediction = _one_object()
    info = kzoo.data.info("stick_figures")
    masks = evaluate_instance_segmentation([element], [prediction], info, backend)
    assert masks["AP"] == pytest.approx(1.0) and masks["mask_AP"] == pytest.approx(1.0)
    keypoints = evaluate_keypoint_detection([element], [prediction], info, backend)
    assert keypoints["keypoint_AP"] == pytest.approx(1.0)
    # Joints moved by a tenth of the figure's height: OKS falls and AP with it.
    moved = {**prediction, "detection_keypoints": prediction["detection_keypoints"] + [0.06, 0.0]}
    assert evaluate_keypoint_detection([element], [moved], info, backend)["keypoint_AP"] < 0.5


def test_stick_figures_state_one_oks_sigma_per_joint():
    info = kzoo.data.info("stick_figures")
    assert len(info.keypoint_sigmas) == len(info.keypoint_names) == 14
    assert info.keypoint_sigmas == stick_figures.OKS_SIGMAS
