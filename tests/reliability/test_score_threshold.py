"""No artifact returns a detection below the score threshold, whatever its quantization."""

import numpy as np

import kzoo
from kzoo.export import export_tflite, load_predictor, make_inference_fn
from kzoo.export.inference import keep_above_threshold


def test_full_integer_tflite_keeps_the_threshold(tmp_path):
    # Untrained, RetinaNet scores every anchor near its prior (0.01): nothing passes 0.05 in float,
    # and int8 used to return 100 detections scored ~1e-6.
    model = kzoo.build("retinanet", num_classes=3, backbone="tiny", input_shape=(64, 64, 3), num_channels=32,
                       num_convs=1)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(8)]
    assert int(make_inference_fn(model)(images[0][None])["num_detections"][0]) == 0
    path = export_tflite(model, str(tmp_path / "int8.tflite"), quantize="int8", representative_data=images)
    from ai_edge_litert.interpreter import Interpreter

    # A detector's full-integer file takes the raw uint8 pixels, as a classifier's does (scale 1, zero point 0).
    details = Interpreter(model_path=path).get_signature_runner().get_input_details()["images"]
    assert details["dtype"] == np.uint8 and details["quantization"] == (1.0, 0)
    out = load_predictor(path).predict(images[0][None])
    assert int(out["num_detections"][0]) == 0
    np.testing.assert_array_equal(out["detection_scores"], 0.0)


def test_keep_above_threshold_cuts_the_low_rows_of_every_output():
    predictions = {
        "detection_scores": np.array([[0.9, 0.3, 0.01, 0.0], [0.2, 0.0, 0.0, 0.0]], np.float32),
        "detection_boxes": np.ones((2, 4, 4), np.float32),
        "detection_classes": np.ones((2, 4), np.int32),
        "detection_masks": np.ones((2, 4, 3, 3), np.float32),
        "num_detections": np.array([3, 1], np.int32),
    }
    kept = {k: np.asarray(v) for k, v in keep_above_threshold(predictions, 0.25).items()}
    np.testing.assert_array_equal(kept["num_detections"], [2, 0])
    np.testing.assert_allclose(kept["detection_scores"], [[0.9, 0.3, 0, 0], [0, 0, 0, 0]], atol=1e-7)
    assert kept["detection_masks"][0, :2].all() and not kept["detection_masks"][0, 2:].any()
    assert not kept["detection_classes"][1].any() and not kept["detection_boxes"][1].any()
