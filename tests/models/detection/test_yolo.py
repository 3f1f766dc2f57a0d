import numpy as np
import pytest

import kzoo
from kzoo.export import export_tflite, load_predictor, make_inference_fn
from tests.helpers import assert_builtin_ops_only, check_model, small_model_and_batch


def test_the_head_can_read_the_stride_16_map():
    model = kzoo.build("yolo", num_classes=3, backbone="tiny", input_shape=(128, 128, 3), head_channels=8,
                       hidden_units=16, feature_level="P4")
    assert tuple(model.get_layer("head_conv").input.shape[1:3]) == (8, 8)
    with pytest.raises(ValueError, match="feature_level"):
        kzoo.build("yolo", num_classes=3, backbone="tiny", input_shape=(128, 128, 3), feature_level="P3")


def test_the_convolutional_head_brings_its_map_to_the_grid_with_shared_weights():
    model = kzoo.build("yolo", num_classes=5, backbone="tiny", input_shape=(128, 128, 3), head_channels=8,
                       feature_level="P4", head="convolutional")
    # The 8 x 8 stride-16 map becomes the 7 x 7 grid through one 2 x 2 valid convolution.
    assert tuple(model.get_layer("head_to_grid").input.shape[1:3]) == (8, 8)
    assert model.get_layer("head_to_grid").kernel.shape[:2] == (2, 2)
    assert tuple(model.get_layer("grid").output.shape[1:]) == (7, 7, 2 * 5 + 5)
    # No layer of the head depends on the cell: its weights do not grow with the grid.
    names = {layer.name for layer in model.layers}
    assert not names & {"flatten", "fc", "box_fc", "class_fc"}
    # A map the size of the grid needs no resampling: a 1 x 1 convolution.
    at_grid = kzoo.build("yolo", num_classes=5, backbone="tiny", input_shape=(224, 224, 3), head_channels=8,
                         head="convolutional")
    assert at_grid.get_layer("head_to_grid").kernel.shape[:2] == (1, 1)
    with pytest.raises(ValueError, match="at least the grid's 7 x 7"):
        kzoo.build("yolo", num_classes=5, backbone="tiny", input_shape=(128, 128, 3), head="convolutional")
    with pytest.raises(ValueError, match="head must be one of"):
        kzoo.build("yolo", num_classes=5, backbone="tiny", input_shape=(128, 128, 3), head="dense")


def test_the_convolutional_head_trains_reloads_and_exports_with_parity(tmp_path):
    spec, _, inputs, targets, images = small_model_and_batch("yolo", count=2)
    model = kzoo.build("yolo", num_classes=5, backbone="tiny", input_shape=(128, 128, 3), head_channels=8,
                       feature_level="P4", head="convolutional")
    reloaded = check_model(model, inputs, targets, spec.compile, training_model=spec.training_model(model),
                           images=images)
    assert reloaded.get_layer("head_to_grid") is not None
    expected = {k: v.numpy() for k, v in make_inference_fn(reloaded)(images).items()}
    lite = load_predictor(export_tflite(reloaded, str(tmp_path / "yolo.tflite"))).predict(images)
    for key, value in expected.items():
        np.testing.assert_allclose(lite[key], value, atol=1e-4, err_msg=key)
    assert_builtin_ops_only(tmp_path / "yolo.tflite")
