import os
import shutil
import subprocess

import numpy as np
import pytest
import tensorflow as tf

import kzoo
from kzoo.export import export_saved_model, export_tflite, load_predictor, make_inference_fn
from kzoo.export import saved_model as saved_model_module
from kzoo.export.warmup import WARMUP_FILE

CLASS_NAMES = ["cat", "dog", "duck"]


@pytest.fixture(scope="module")
def model():
    return kzoo.build("classifier", num_classes=3, backbone="tiny", input_shape=(32, 32, 3))


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def export_dir(model, tmp_path_factory):
    base = str(tmp_path_factory.mktemp("saved_models"))
    return export_saved_model(model, base, "classifier", class_names=CLASS_NAMES)


def test_saved_model_matches_keras_on_every_signature(model, images, export_dir):
    expected = make_inference_fn(model)(tf.constant(images))
    loaded = tf.saved_model.load(export_dir)
    assert set(loaded.signatures) >= {"serving_default", "serving_bytes", "tf_example"}
    by_pixels = loaded.signatures["serving_default"](images=tf.constant(images))
    pngs = tf.constant([tf.io.encode_png(image).numpy() for image in images])
    by_bytes = loaded.signatures["serving_bytes"](image_bytes=pngs)
    examples = [
        tf.train.Example(
            features=tf.train.Features(feature={"image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(value=[png]))})
        ).SerializeToString()
        for png in pngs.numpy()
    ]
    by_example = loaded.signatures["tf_example"](examples=tf.constant(examples))
    for outputs in (by_pixels, by_bytes, by_example):
        np.testing.assert_allclose(outputs["probabilities"], expected["probabilities"], atol=1e-5)
        np.testing.assert_array_equal(outputs["classes"], expected["classes"])


def test_any_input_size_is_resized_inside(export_dir):
    loaded = tf.saved_model.load(export_dir)
    outputs = loaded.signatures["serving_default"](images=tf.zeros((3, 50, 70, 3), tf.uint8))
    assert outputs["probabilities"].shape == (3, 3)
    np.testing.assert_allclose(np.sum(outputs["probabilities"], axis=-1), 1.0, atol=1e-5)


def test_versions_count_up_and_never_overwrite(model, export_dir):
    base = os.path.dirname(os.path.dirname(export_dir))
    assert export_dir.endswith(os.path.join("classifier", "1"))
    second = export_saved_model(model, base, "classifier")
    assert second.endswith(os.path.join("classifier", "2"))
    with pytest.raises(FileExistsError):
        export_saved_model(model, base, "classifier", version=1)
    shutil.rmtree(second)


def test_failed_export_leaves_no_version(model, tmp_path, monkeypatch):
    def broken_check(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(saved_model_module, "_check_export", broken_check)
    with pytest.raises(RuntimeError, match="disk full"):
        export_saved_model(model, str(tmp_path), "classifier")
    assert os.listdir(tmp_path / "classifier") == []


def test_warmup_records_are_prediction_logs(export_dir):
    from tensorflow_serving.apis import prediction_log_pb2

    records = list(tf.data.TFRecordDataset(os.path.join(export_dir, WARMUP_FILE)).as_numpy_iterator())
    assert len(records) == 3
    log = prediction_log_pb2.PredictionLog.FromString(records[0])
    assert log.predict_log.request.model_spec.signature_name == "serving_default"
    assert tuple(tf.make_ndarray(log.predict_log.request.inputs["images"]).shape) == (1, 32, 32, 3)


def test_saved_model_cli_runs_the_export(export_dir, tmp_path):
    cli = shutil.which("saved_model_cli")
    assert cli, "saved_model_cli comes with tensorflow"
    shown = subprocess.run([cli, "show", "--dir", export_dir, "--all"], capture_output=True, text=True, check=True)
    assert "serving_bytes" in shown.stdout and "probabilities" in shown.stdout
    np.save(tmp_path / "images.npy", np.zeros((1, 32, 32, 3), np.uint8))
    ran = subprocess.run(
        [cli, "run", "--dir", export_dir, "--tag_set", "serve", "--signature_def", "serving_default",
         "--inputs", f"images={tmp_path / 'images.npy'}"],
        capture_output=True, text=True, check=True,
    )
    assert "probabilities" in ran.stdout


def test_tflite_matches_saved_model_and_keeps_labels(model, images, export_dir, tmp_path):
    path = export_tflite(model, str(tmp_path / "classifier.tflite"), class_names=CLASS_NAMES)
    lite = load_predictor(path)
    served = load_predictor(export_dir)
    assert lite.class_names == CLASS_NAMES and served.class_names == CLASS_NAMES
    a, b = served.predict(images), lite.predict(images)
    np.testing.assert_allclose(a["probabilities"], b["probabilities"], atol=1e-5)
    np.testing.assert_array_equal(a["classes"], b["classes"])


def test_tflite_predictors_run_on_every_core_unless_told(model, images, tmp_path, monkeypatch):
    import ai_edge_litert.interpreter as litert

    from kzoo.export.predictor import usable_cores

    threads = []
    real = litert.Interpreter

    def recording(*args, **kwargs):
        threads.append(kwargs.get("num_threads"))
        return real(*args, **kwargs)

    monkeypatch.setattr(litert, "Interpreter", recording)
    path = export_tflite(model, str(tmp_path / "classifier.tflite"))
    every_core, one = load_predictor(path), load_predictor(path, num_threads=1)
    # LiteRT's own default is one thread; kzoo asks for every core this process may use.
    assert threads == [usable_cores(), 1] and every_core.num_threads == usable_cores()
    np.testing.assert_allclose(every_core.predict(images)["probabilities"], one.predict(images)["probabilities"],
                               atol=1e-6)


@pytest.mark.parametrize("quantize", ["float16", "int8"])
def test_quantized_tflite_runs(model, images, tmp_path, quantize):
    representative = list(np.random.default_rng(1).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8))
    path = export_tflite(
        model, str(tmp_path / f"c_{quantize}.tflite"), quantize=quantize,
        representative_data=representative if quantize == "int8" else None,
    )
    out = load_predictor(path).predict(images)
    assert out["probabilities"].shape == (2, 3)
    np.testing.assert_allclose(out["probabilities"].sum(-1), 1.0, atol=0.05)


def test_int8_file_takes_raw_uint8_pixels(model, tmp_path):
    """A full-integer file's input is uint8 with scale 1 and zero point 0 whatever range calibration saw,
    so a user feeds the image itself; its output follows the float file's."""
    from ai_edge_litert.interpreter import Interpreter

    # Calibration images span only [40, 200]: the input's scale must not follow them.
    rng = np.random.default_rng(2)
    representative = list(rng.integers(40, 201, (8, 32, 32, 3), dtype=np.uint8))
    path = export_tflite(model, str(tmp_path / "c_int8.tflite"), quantize="int8",
                         representative_data=representative)
    interpreter = Interpreter(model_path=path)
    (details,) = interpreter.get_signature_runner().get_input_details().values()
    assert details["dtype"] == np.uint8
    assert details["quantization"] == (1.0, 0)
    image = representative[0][None]
    int8 = interpreter.get_signature_runner()(images=image)["probabilities"]
    fp32_path = export_tflite(model, str(tmp_path / "c_fp32.tflite"))
    fp32 = Interpreter(model_path=fp32_path).get_signature_runner()(images=image)["probabilities"]
    np.testing.assert_allclose(int8, fp32, atol=0.05)
