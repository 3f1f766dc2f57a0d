"""Faster R-CNN beyond the registry-wide checks: the C4 variant, the training graph's edge cases,
the saved decoding settings and distributed training."""

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
from tests.helpers import REPO, assert_builtin_ops_only, assert_same_detections, check_model, small_model_and_batch

SMALL = get_spec("faster_rcnn").small_config
TRAINING = {"rpn_pre_nms_top_k": 200, "rpn_post_nms_top_k": 64, "rpn_num_samples": 64, "roi_num_samples": 32}


def _build(**overrides):
    kwargs = {**SMALL, **overrides}
    return kzoo.build("faster_rcnn", num_classes=3, backbone="tiny", input_shape=(64, 64, 3), **kwargs)


def _losses(model, gt_boxes, gt_classes, count=2):
    training = get_spec("faster_rcnn").training_model(model, {**TRAINING, "seed": 0})
    images = np.random.default_rng(0).uniform(0, 255, (count, 64, 64, 3)).astype(np.float32)
    inputs = {"images": images, "gt_boxes": np.asarray(gt_boxes, np.float32), "gt_classes": np.asarray(gt_classes)}
    return {key: value.numpy() for key, value in training(inputs, training=True).items()}


def test_c4_variant_with_roi_pooling_trains_reloads_and_exports_with_parity(tmp_path):
    spec, _, inputs, targets, images = small_model_and_batch("faster_rcnn", count=2)
    model = kzoo.build(
        "faster_rcnn", num_classes=5, backbone="tiny", input_shape=(128, 128, 3), variant="c4",
        **{**SMALL, "roi_heads": {**SMALL["roi_heads"], "pooling": "pool"}},
    )
    assert model.get_layer(graph.ROI_POOL).__class__.__name__ == "RoIPooling"
    reloaded = check_model(
        model, inputs, targets, spec.compile, training_model=spec.training_model(model, TRAINING), images=images
    )
    # After one step every objectness and class score is within 1e-6 of its neighbours, so TF's and
    # TFLite's round-off decides which proposals pass the top-k and NMS. Scaling the score kernels spreads
    # the scores far beyond round-off: both sides then face the same choices.
    score_kernels = [w for w in reloaded.weights if w.path in ("rpn_head/objectness/kernel", "box_head/class_logits/kernel")]
    assert len(score_kernels) == 2
    for weight in score_kernels:
        weight.assign(weight * 30.0)
    expected = {k: v.numpy() for k, v in make_inference_fn(reloaded)(tf.constant(images)).items()}
    served = load_predictor(export_saved_model(reloaded, str(tmp_path), "c4")).predict(images)
    lite = load_predictor(export_tflite(reloaded, str(tmp_path / "c4.tflite"))).predict(images)
    for key, value in expected.items():
        np.testing.assert_allclose(served[key], value, atol=1e-5, err_msg=key)
    assert_same_detections(lite, expected, atol=1e-4)
    assert_builtin_ops_only(tmp_path / "c4.tflite")


def test_an_image_without_objects_gives_finite_losses_and_zero_box_losses():
    losses = _losses(_build(), np.zeros((2, 3, 4)), -np.ones((2, 3), np.int32))
    for name, value in losses.items():
        assert np.all(np.isfinite(value)), name
    np.testing.assert_array_equal(losses["rpn_box"], 0.0)
    np.testing.assert_array_equal(losses["roi_box"], 0.0)
    assert np.all(losses["rpn_objectness"] > 0) and np.all(losses["roi_class"] > 0)


def test_degenerate_and_outside_boxes_never_give_nan():
    element = {
        "image": np.zeros((64, 64, 3), np.uint8),
        "boxes": np.array([[0.2, 0.2, 0.2, 0.6], [1.2, 1.3, 1.5, 1.9], [0.1, 0.1, np.nan, 0.5], [0.5, 0.5, 0.9, 0.8]],
                          np.float32),
        "classes": np.array([0, 1, 2, 1], np.int32),
    }
    inputs, _ = get_spec("faster_rcnn").targets(element, (64, 64))
    # Only the one real box survives cleaning; the others become padding.
    np.testing.assert_array_equal(inputs["gt_classes"].numpy()[:4], [-1, -1, -1, 1])
    raw = _losses(_build(), [element["boxes"], element["boxes"]], [[0, 1, 2, 1]] * 2)
    for name, value in raw.items():
        assert np.all(np.isfinite(value)), name


def test_decoding_settings_live_in_the_saved_config(tmp_path):
    model = _build(rpn={**SMALL["rpn"], "post_nms_top_k": 17, "aspect_ratios": (1.0,)},
                   roi_heads={**SMALL["roi_heads"], "score_threshold": 0.3, "max_detections": 9})
    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    assert reloaded.get_layer(graph.PROPOSALS).post_nms_top_k == 17
    assert reloaded.get_layer(graph.ANCHORS).aspect_ratios == (1.0,)
    decoder = reloaded.get_layer(graph.DECODER)
    assert (decoder.score_threshold, decoder.max_detections) == (0.3, 9)
    assert reloaded(np.zeros((1, 64, 64, 3), np.float32))["detection_boxes"].shape == (1, 9, 4)


def test_bad_settings_are_refused_by_name():
    with pytest.raises(ValueError, match="unknown RPNSettings fields"):
        _build(rpn={"post_nms": 10})
    with pytest.raises(ValueError, match="variant"):
        _build(variant="c5")
    with pytest.raises(ValueError, match="RoIAlign"):
        _build(roi_heads={"pooling": "pool"})
    with pytest.raises(ValueError, match="unknown TrainingSettings fields"):
        get_spec("faster_rcnn").training_model(_build(), {"roi_samples": 3})


@pytest.mark.slow  # Mask R-CNN's two-replica test runs the same RPN and RoI stages in the default suite
@pytest.mark.parametrize("name, head", [("faster_rcnn", ["--fc", "32"]), ("rfcn", ["--bins", "3"])])
def test_recipe_trains_on_two_replicas_and_reports_the_four_losses(name, head, tmp_path):
    out = tmp_path / "run"
    command = [
        sys.executable, os.path.join(REPO, "recipes", f"{name}.py"), "--cpu-replicas", "2",
        "--dataset", "shapes/tiny", "--image-size", "64", "--epochs", "1", "--steps-per-epoch", "2",
        "--batch-size", "4", "--validation-steps", "1", "--channels", "16", "--proposals", "20",
        "--train-proposals", "20", "--rois", "8", "--out", str(out), "--verbose", "0", *head,
    ]
    subprocess.run(command, check=True, cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    record = json.loads((out / "history.json").read_text())
    history = record["history"]
    assert record["replicas"] == 2
    assert history["replica_0_examples"][-1] == history["replica_1_examples"][-1] == 4.0
    for name in graph.LOSS_NAMES:
        assert np.isfinite(history[f"{name}_loss"][-1]) and np.isfinite(history[f"val_{name}_loss"][-1]), name
    # The checkpoint is the inference graph: images in, detections out.
    model = keras.saving.load_model(out / "last.keras", safe_mode=True)
    assert set(model.output) == {"detection_boxes", "detection_scores", "detection_classes", "num_detections"}
