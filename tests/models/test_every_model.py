"""Every registered model: builds, predicts its contract, trains a step, reloads, exports with parity.

Parametrized over ``kzoo.list_models()``, so a new model is covered by
registering it.
"""

import numpy as np
import pytest
import tensorflow as tf

import kzoo
from kzoo.export import export_tflite, load_predictor, make_inference_fn
from tests.helpers import (
    assert_builtin_ops_only,
    assert_same_detections,
    check_model,
    prediction_inputs,
    small_model_and_batch,
)

_SMALL_RPN_TRAINING = {"rpn_pre_nms_top_k": 200, "rpn_post_nms_top_k": 64, "rpn_num_samples": 64, "roi_num_samples": 32}
SMALL_TRAINING = {
    "faster_rcnn": _SMALL_RPN_TRAINING,
    "rfcn": _SMALL_RPN_TRAINING,
    "mask_rcnn": _SMALL_RPN_TRAINING,
    "keypoint_rcnn": _SMALL_RPN_TRAINING,
    "fast_rcnn": {"roi_num_samples": 32},
    "rcnn": {"num_samples": 8},
}
PREDICTION_KEYS = {
    "classification": {"probabilities", "classes"},
    "classification_localization": {"probabilities", "classes", "boxes"},
    "pose": {"keypoints"},
    "segmentation": {"segmentation_probs", "segmentation_mask"},
    "detection": {"detection_boxes", "detection_scores", "detection_classes", "num_detections"},
}
PREDICTION_KEYS["instance_segmentation"] = PREDICTION_KEYS["detection"] | {"detection_masks"}
PREDICTION_KEYS["keypoint_detection"] = PREDICTION_KEYS["detection"] | {
    "detection_keypoints", "detection_keypoint_scores",
}


@pytest.mark.parametrize("name", kzoo.list_models())
def test_model_trains_reloads_and_predicts_its_contract(name):
    spec, model, inputs, targets, images = small_model_and_batch(name)
    training_model = None
    if spec.training_model is not None:
        # A small sample keeps the step quick; the graph is the one `train` fits.
        training_model = spec.training_model(model, SMALL_TRAINING.get(name))
    feed = prediction_inputs(inputs, images)
    predict_inputs = images if len(feed) == 1 else feed
    reloaded = check_model(model, inputs, targets, spec.compile, training_model=training_model, images=predict_inputs)
    predictions = make_inference_fn(reloaded)(**{k: tf.constant(v) for k, v in feed.items()})
    assert set(predictions) == PREDICTION_KEYS[spec.task]
    for value in predictions.values():
        assert value.shape[0] == len(images)


@pytest.mark.parametrize("name", kzoo.list_models())
def test_exports_match_keras(name, small_export, tmp_path):
    exported = small_export(name)
    feed = exported.feed
    predict = make_inference_fn(exported.model)
    expected = {k: v.numpy() for k, v in predict(**{k: tf.constant(v) for k, v in feed.items()}).items()}
    served = load_predictor(exported.path).predict(**feed)
    lite_path = export_tflite(exported.model, str(tmp_path / f"{name}.tflite"))
    # Builtin ops only: no Flex (SELECT_TF_OPS) delegate, no custom op a stock runtime lacks.
    assert_builtin_ops_only(lite_path)
    lite = load_predictor(lite_path).predict(**feed)
    for key, value in expected.items():
        if np.issubdtype(value.dtype, np.integer):
            np.testing.assert_array_equal(served[key], value, err_msg=key)
        else:
            np.testing.assert_allclose(served[key], value, atol=1e-5, err_msg=key)
    if "num_detections" in expected:
        # Detections with equal scores (RoI max pooling of an untrained model gives many) may come out of
        # TFLite's NMS in another order: the same detections, in any order among ties.
        assert_same_detections(lite, expected, atol=1e-4)
        return
    for key, value in expected.items():
        if np.issubdtype(value.dtype, np.integer):
            np.testing.assert_array_equal(lite[key], value, err_msg=key)
        else:
            # TFLite kernels differ from TF's in float rounding order.
            np.testing.assert_allclose(lite[key], value, atol=1e-4, err_msg=key)


@pytest.mark.parametrize("name", kzoo.list_models())
def test_saved_model_serves_any_batch_size(name, small_export):
    exported = small_export(name)
    # Three images: the two of the export and the first again; each row must not depend on the others.
    feed = {key: np.concatenate([value, value[:1]]) for key, value in exported.feed.items()}
    expected = {k: v.numpy() for k, v in make_inference_fn(exported.model)(**feed).items()}
    predictor = load_predictor(exported.path)
    for count in (1, 3):
        got = predictor.predict(**{key: value[:count] for key, value in feed.items()})
        for key, value in expected.items():
            np.testing.assert_allclose(got[key], value[:count], atol=1e-5, err_msg=key)
