"""Every registered model: builds, predicts its contract, trains a step, reloads, exports with parity.

Parametrized over ``kzoo.list_models()``, so a new model is covered by
registering it.
"""

import numpy as np
import pytest
import tensorflow as tf

import kzoo
import kzoo.data
from kzoo.export import export_saved_model, export_tflite, load_predictor, make_inference_fn
from kzoo.models.registry import get_spec
from tests.helpers import check_model

PREDICTION_KEYS = {
    "classification": {"probabilities", "classes"},
    "classification_localization": {"probabilities", "classes", "boxes"},
    "pose": {"keypoints"},
    "segmentation": {"segmentation_probs", "segmentation_mask"},
    "detection": {"detection_boxes", "detection_scores", "detection_classes", "num_detections"},
}


def tiny_variant(dataset):
    """The small config of a built-in dataset, for tests."""
    base, _, config = dataset.partition("/")
    return f"{base}/{config + '_tiny' if config else 'tiny'}"


def small_model_and_batch(name, count=4):
    spec = get_spec(name)
    dataset = tiny_variant(spec.dataset)
    info = kzoo.data.info(dataset)
    image_size = tuple(info.image_size)
    model = kzoo.build(name, num_classes=info.num_classes, backbone="tiny", input_shape=image_size + (3,))
    elements = list(kzoo.data.load(dataset, "train").take(count).as_numpy_iterator())
    pairs = [spec.targets(element, image_size) for element in elements]
    inputs = np.stack([np.asarray(x) for x, _ in pairs])
    targets = tf.nest.map_structure(lambda *ys: np.stack([np.asarray(y) for y in ys]), *[y for _, y in pairs])
    images = np.stack([element["image"] for element in elements])
    return spec, model, inputs, targets, images


@pytest.mark.parametrize("name", kzoo.list_models())
def test_model_trains_reloads_and_predicts_its_contract(name):
    spec, model, inputs, targets, images = small_model_and_batch(name)
    reloaded = check_model(model, inputs, targets, spec.compile)
    predictions = make_inference_fn(reloaded)(tf.constant(images))
    assert set(predictions) == PREDICTION_KEYS[spec.task]
    for value in predictions.values():
        assert value.shape[0] == len(images)


@pytest.mark.parametrize("name", kzoo.list_models())
def test_exports_match_keras(name, tmp_path):
    _, model, _, _, images = small_model_and_batch(name, count=2)
    expected = {k: v.numpy() for k, v in make_inference_fn(model)(tf.constant(images)).items()}
    served = load_predictor(export_saved_model(model, str(tmp_path), name)).predict(images)
    lite = load_predictor(export_tflite(model, str(tmp_path / f"{name}.tflite"))).predict(images)
    for key, value in expected.items():
        if np.issubdtype(value.dtype, np.integer):
            np.testing.assert_array_equal(served[key], value, err_msg=key)
            np.testing.assert_array_equal(lite[key], value, err_msg=key)
        else:
            np.testing.assert_allclose(served[key], value, atol=1e-5, err_msg=key)
            # TFLite kernels differ from TF's in float rounding order.
            np.testing.assert_allclose(lite[key], value, atol=1e-4, err_msg=key)
