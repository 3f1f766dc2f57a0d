"""SSDLite: SSD's outputs and default boxes, separable convolutions after the backbone, int8 with NMS inside."""

import keras
import numpy as np

import kzoo
from kzoo.export import export_tflite, load_predictor
from kzoo.models.detection import ssd
from tests.helpers import assert_builtin_ops_only, tflite_op_names


def _head_layers(model):
    """The layers after the backbone (the backbone is one nested model)."""
    return [layer for layer in model.layers if not isinstance(layer, keras.Model)]


def test_ssdlite_has_ssd_outputs_with_separable_convolutions_only():
    lite = kzoo.build("ssdlite", num_classes=3, backbone="tiny", input_shape=(64, 64, 3), extra_channels=32)
    plain = kzoo.build("ssd", num_classes=3, backbone="tiny", input_shape=(64, 64, 3), extra_channels=32)
    # The same default boxes, so SSD's targets and losses apply unchanged.
    images = np.zeros((1, 64, 64, 3), np.float32)
    np.testing.assert_array_equal(lite.get_layer("default_boxes")(images), ssd.ssd_default_boxes((64, 64))[None])
    assert lite.get_layer("class_logits").output.shape == plain.get_layer("class_logits").output.shape
    # No full 3x3 convolution after the backbone: a depthwise 3x3 before each 1x1 instead.
    convs = [layer for layer in _head_layers(lite) if type(layer) is keras.layers.Conv2D]
    assert convs and all(layer.kernel_size == (1, 1) for layer in convs)
    depthwise = [layer for layer in _head_layers(lite) if isinstance(layer, keras.layers.DepthwiseConv2D)]
    # Two extra layers, and a class and a box predictor on each of the five levels.
    assert len(depthwise) == 2 + 2 * len(ssd.LEVELS)
    assert {layer.kernel_size for layer in depthwise} == {(3, 3)}
    head_params = sum(layer.count_params() for layer in _head_layers(lite))
    assert head_params < sum(layer.count_params() for layer in _head_layers(plain)) / 3


def test_ssdlite_int8_tflite_has_nms_inside_and_builtin_ops_only(tmp_path):
    model = kzoo.build("ssdlite", num_classes=3, backbone="tiny", input_shape=(64, 64, 3), extra_channels=16,
                       score_threshold=0.0)
    rng = np.random.default_rng(0)
    images = list(rng.integers(0, 256, (8, 64, 64, 3), dtype=np.uint8))
    path = export_tflite(model, str(tmp_path / "ssdlite.tflite"), quantize="int8", representative_data=images)
    assert_builtin_ops_only(path)
    ops = tflite_op_names(path)
    assert any(op.startswith("NON_MAX_SUPPRESSION") for op in ops), sorted(ops)
    assert "CONV_2D" in ops and "DEPTHWISE_CONV_2D" in ops
    out = load_predictor(path).predict(np.stack(images[:2]))
    assert out["detection_boxes"].shape[0] == 2 and np.all(out["num_detections"] > 0)
