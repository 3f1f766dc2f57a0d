"""--mixed-precision: every task family trains a step with bfloat16 compute (this CPU), losses and outputs in float32."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kzoo.data
from kzoo.export import make_inference_fn
from kzoo.models.registry import get_spec
from kzoo.training.pipeline import fit_dataset
from kzoo.training.trainer import precision_policy

FAMILIES = [
    ("classifier", "fashion_scenes/single_tiny"),
    # RPN and RoI losses are layers: they must compute in float32.
    pytest.param("mask_rcnn", "shapes/tiny", marks=pytest.mark.slow),
    pytest.param("retinanet", "shapes/tiny", marks=pytest.mark.slow),
    pytest.param("unet", "shapes/tiny", marks=pytest.mark.slow),
    pytest.param("classify_localize", "fashion_scenes/single_tiny", marks=pytest.mark.slow),
    pytest.param("deeppose", "stick_figures/single_tiny", marks=pytest.mark.slow),
    pytest.param("yolo", "shapes/tiny", marks=pytest.mark.slow),
    pytest.param("keypoint_rcnn", "stick_figures/tiny", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("name, dataset", FAMILIES)
def test_a_step_under_mixed_precision_keeps_losses_and_outputs_float32(name, dataset):
    spec = get_spec(name)
    info = kzoo.data.info(dataset)
    kwargs = dict(spec.small_config)
    if spec.task == "keypoint_detection":
        kwargs["num_keypoints"] = len(info.keypoint_names)
    with precision_policy(True):
        model = kzoo.build(name, num_classes=info.num_classes, backbone="tiny", input_shape=(64, 64, 3), **kwargs)
        fit_model = model if spec.training_model is None else spec.training_model(model, None)
        spec.compile(fit_model)
    assert keras.mixed_precision.global_policy().name == "float32"  # restored once built
    assert any(layer.compute_dtype == "bfloat16" for layer in model.layers)  # the CPU's half precision
    assert all(v.dtype == "float32" for v in model.trainable_weights)  # weights stay float32
    data = fit_dataset(spec, "train", 4, (64, 64), dataset=dataset).take(1)
    history = fit_model.fit(data, epochs=1, verbose=0).history
    assert all(np.isfinite(values[-1]) for values in history.values()), history
    predictions = make_inference_fn(model)(tf.zeros([1, 64, 64, 3], tf.uint8))
    for key, value in predictions.items():
        assert value.dtype in (tf.float32, tf.int32, tf.uint8), (key, value.dtype)
