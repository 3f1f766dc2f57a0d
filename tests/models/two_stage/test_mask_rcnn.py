"""Mask R-CNN and keypoint R-CNN beyond the registry-wide checks: empty images, batches whose images
hold different numbers of detections, masks pasted into the image inside the exports, two replicas."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import kzoo
from kzoo.export import export_saved_model, export_tflite, load_predictor, make_inference_fn
from kzoo.models.registry import get_spec
from kzoo.models.two_stage import graph
from kzoo.ops.masks import paste_masks
from tests.helpers import REPO

SIZE = 64
TRAINING = {"rpn_pre_nms_top_k": 200, "rpn_post_nms_top_k": 64, "rpn_num_samples": 64, "roi_num_samples": 32,
            "seed": 0}
INSTANCE_KEYS = {
    "mask_rcnn": ("detection_masks",),
    "keypoint_rcnn": ("detection_keypoints", "detection_keypoint_scores"),
}


def _build(name, weights=None, **roi_heads):
    small = get_spec(name).small_config
    num_classes = 3 if name == "mask_rcnn" else 1
    model = kzoo.build(name, num_classes=num_classes, backbone="tiny", input_shape=(SIZE, SIZE, 3),
                       **{**small, "roi_heads": {**small["roi_heads"], **roi_heads}})
    if weights is not None:
        model.set_weights(weights)
    return model


def _images(count=2):
    return np.random.default_rng(1).integers(0, 256, (count, SIZE, SIZE, 3), dtype=np.uint8)


@pytest.mark.parametrize("name", ["mask_rcnn", "keypoint_rcnn"])
def test_images_without_objects_give_finite_losses_and_no_instance_loss(name):
    model = _build(name)
    training = get_spec(name).training_model(model, TRAINING)
    inputs = {
        "images": _images().astype(np.float32),
        "gt_boxes": np.zeros((2, 3, 4), np.float32),
        "gt_classes": -np.ones((2, 3), np.int32),
    }
    if name == "mask_rcnn":
        inputs["gt_masks"] = np.zeros((2, 3, SIZE, SIZE), np.uint8)
    else:
        inputs["gt_keypoints"] = np.zeros((2, 3, 14, 3), np.float32)
    losses = {key: value.numpy() for key, value in training(inputs, training=True).items()}
    for key, value in losses.items():
        assert np.all(np.isfinite(value)), key
    np.testing.assert_array_equal(losses["mask" if name == "mask_rcnn" else "keypoint"], 0.0)


def test_no_detection_gives_empty_outputs():
    model = _build("mask_rcnn", score_threshold=0.999)
    predictions = make_inference_fn(model, image_masks=True)(tf.constant(_images()))
    np.testing.assert_array_equal(predictions["num_detections"], 0)
    np.testing.assert_array_equal(predictions["detection_image_masks"], 0)
    assert paste_masks(predictions["detection_masks"][0, :0], predictions["detection_boxes"][0, :0], 5, 7).shape == (
        0, 5, 7)


def _threshold_splitting_counts(scores):
    """A score threshold that leaves the two images different, non-zero numbers of detections."""
    for threshold in np.unique(scores)[:-1]:
        counts = (scores > threshold).sum(axis=1)
        if counts[0] != counts[1] and counts.min() > 0:
            return float(threshold), counts
    raise AssertionError(f"no threshold splits the detections {scores}")


@pytest.mark.parametrize("name", ["mask_rcnn", "keypoint_rcnn"])
def test_saved_model_batch_of_two_with_different_detection_counts(name, tmp_path):
    images = _images()
    probe = _build(name)
    scores = make_inference_fn(probe)(tf.constant(images))["detection_scores"].numpy()
    threshold, counts = _threshold_splitting_counts(scores)
    model = _build(name, weights=probe.get_weights(), score_threshold=threshold)
    image_masks = name == "mask_rcnn"
    path = export_saved_model(model, str(tmp_path), name, image_masks=image_masks)
    served = load_predictor(path).predict(images)
    np.testing.assert_array_equal(served["num_detections"], counts)
    for i in range(2):
        # Each image of the batch gets what it gets alone.
        alone = {k: v.numpy() for k, v in make_inference_fn(model)(tf.constant(images[i : i + 1])).items()}
        count = counts[i]
        for key in ("detection_boxes", *INSTANCE_KEYS[name]):
            assert served[key].shape[:2] == (2, 10), key
            np.testing.assert_allclose(served[key][i, :count], alone[key][0, :count], atol=1e-5, err_msg=key)
    if image_masks:
        pasted = served["detection_image_masks"]
        assert pasted.shape == (2, 10, SIZE, SIZE) and pasted.dtype == np.uint8
        for i in range(2):
            want = paste_masks(served["detection_masks"][i], served["detection_boxes"][i], SIZE, SIZE)
            np.testing.assert_array_equal(pasted[i], want)
        # Any request size: masks come back at the size of the request's images.
        large = load_predictor(path).predict(np.repeat(np.repeat(images, 2, axis=1), 3, axis=2))
        assert large["detection_image_masks"].shape == (2, 10, 2 * SIZE, 3 * SIZE)
        # TFLite pastes at the model's input size.
        lite = load_predictor(export_tflite(model, str(tmp_path / "m.tflite"), image_masks=True)).predict(images[:1])
        count = counts[0]
        np.testing.assert_allclose(lite["detection_masks"][0, :count], served["detection_masks"][0, :count], atol=1e-4)
        # Pasted masks are thresholded: a probability within float error of 0.5 may flip a pixel.
        same = lite["detection_image_masks"][0, :count] == served["detection_image_masks"][0, :count]
        assert same.mean() > 0.999


def test_image_masks_need_a_mask_head():
    with pytest.raises(ValueError, match="predicts no masks"):
        make_inference_fn(_build("keypoint_rcnn"), image_masks=True)


@pytest.mark.parametrize("name, dataset, extra", [
    ("mask_rcnn", "shapes/tiny", ["--mask-channels", "8", "--instance-rois", "1"]),
    # The keypoint ground truth crosses replicas as the masks do: the long check.
    pytest.param("keypoint_rcnn", "stick_figures/tiny", ["--keypoint-channels", "8"], marks=pytest.mark.slow),
])
def test_recipe_trains_on_two_replicas_and_reports_every_loss(name, dataset, extra, tmp_path):
    out = tmp_path / "run"
    command = [
        sys.executable, os.path.join(REPO, "recipes", f"{name}.py"), "--cpu-replicas", "2",
        "--dataset", dataset, "--image-size", "64", "--epochs", "1", "--steps-per-epoch", "2",
        "--batch-size", "4", "--validation-steps", "1", "--channels", "16", "--fc", "32", "--proposals", "20",
        "--train-proposals", "20", "--rois", "8", "--out", str(out), "--verbose", "0", *extra,
    ]
    subprocess.run(command, check=True, cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    record = json.loads((out / "history.json").read_text())
    history = record["history"]
    assert record["replicas"] == 2
    instance = "mask" if name == "mask_rcnn" else "keypoint"
    for loss in (*graph.LOSS_NAMES, instance):
        assert np.isfinite(history[f"{loss}_loss"][-1]) and np.isfinite(history[f"val_{loss}_loss"][-1]), loss
    model = keras.saving.load_model(out / "last.keras", safe_mode=True)
    assert set(INSTANCE_KEYS[name]) <= set(model.output)


@pytest.mark.parametrize("instance_num_samples,expected", [(None, 8), (2, 2), (100, 8)])
def test_instance_heads_train_on_at_most_instance_num_samples_positives(instance_num_samples, expected, monkeypatch):
    """The mask and keypoint heads see min(instance_num_samples, roi_num_samples x positive fraction) RoIs."""
    from kzoo.models.two_stage import instance_heads

    seen = []

    def recording(parts, features, sample, inputs, max_positives):
        seen.append(max_positives)
        return real(parts, features, sample, inputs, max_positives)

    real = instance_heads.instance_losses
    monkeypatch.setattr(instance_heads, "instance_losses", recording)
    training = get_spec("mask_rcnn").training_model(
        _build("mask_rcnn"), {**TRAINING, "instance_num_samples": instance_num_samples}
    )
    assert seen == [expected]  # 32 RoIs, a quarter of them positives at most
    boxes = np.array([[[0.1, 0.1, 0.6, 0.5], [0.4, 0.5, 0.9, 0.9]]] * 2, np.float32)
    masks = np.zeros((2, 2, SIZE, SIZE), np.uint8)
    masks[:, 0, 8:36, 8:30], masks[:, 1, 28:56, 34:56] = 1, 1
    losses = training({"images": _images().astype(np.float32), "gt_boxes": boxes,
                       "gt_classes": np.array([[0, 2]] * 2, np.int32), "gt_masks": masks}, training=True)
    assert all(np.all(np.isfinite(value)) for value in losses.values())
    assert np.all(losses["mask"].numpy() > 0)


def test_instance_num_samples_must_be_positive():
    from kzoo.models.two_stage.settings import TrainingSettings

    with pytest.raises(ValueError, match="instance_num_samples"):
        TrainingSettings(instance_num_samples=0)
