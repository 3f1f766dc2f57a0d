"""The Python API follows a model's own data: ``train`` and ``kzoo.load_checkpoint`` attach its dataset record,
which evaluation and exports read, as the command line does."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

import kzoo
from kzoo.evaluation import evaluate_model
from kzoo.export import export_saved_model, export_tflite
from kzoo.export.labels import read_tflite_labels
from kzoo.export.warmup import WARMUP_FILE, probe_size
from kzoo.models.registry import get_spec
from kzoo.training import train
from tests.data.test_user_data import write_coco_folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("record")
    folder = write_coco_folder(root / "digits", count=8)
    kwargs = {**get_spec("retinanet").small_config, "backbone": "tiny", "input_shape": (64, 64, 3)}
    model, _ = train("retinanet", str(root / "run"), model_kwargs=kwargs, epochs=1, batch_size=4, dataset=folder,
                     verbose=0)
    return root, folder, model


def test_a_trained_model_is_scored_and_labelled_with_its_own_data(trained):
    root, folder, model = trained
    results = evaluate_model(model)
    assert results["dataset"] == os.path.abspath(folder)
    assert results["class_names"] == ["one", "seven"]
    path = export_saved_model(model, str(root / "models"), "digits")
    labels = json.load(open(os.path.join(path, "assets.extra", "labels.json")))
    assert labels["class_names"] == ["one", "seven"]
    tflite = export_tflite(model, str(root / "digits.tflite"))
    assert read_tflite_labels(open(tflite, "rb").read()) == ["one", "seven"]


def test_a_loaded_checkpoint_keeps_its_dataset_and_refuses_other_classes(trained, capsys):
    root, folder, _ = trained
    loaded = kzoo.load_checkpoint(str(root / "run" / "best.keras"))
    capsys.readouterr()
    assert evaluate_model(loaded, limit=2, verbose=0)["dataset"] == os.path.abspath(folder)
    assert capsys.readouterr().out == ""  # no progress bar when asked for none
    with pytest.raises(ValueError, match="learned the 2 classes of .*shapes/tiny has other classes"):
        evaluate_model(loaded, dataset="shapes/tiny")
    # A model without a record (built, not trained) keeps its registered dataset.
    assert evaluate_model(kzoo.build("retinanet", num_classes=5, backbone="tiny", input_shape=(64, 64, 3),
                                     **get_spec("retinanet").small_config), limit=2)["dataset"] == "shapes"


@pytest.mark.parametrize("path, message", [("missing.keras", "no such checkpoint"),
                                           ("notes.txt", "is not a .keras checkpoint")])
def test_load_checkpoint_says_what_is_wrong(tmp_path, path, message):
    (tmp_path / "notes.txt").write_text("not a zip")
    with pytest.raises(ValueError, match=message):
        kzoo.load_checkpoint(str(tmp_path / path))


def test_an_export_that_refuses_the_models_own_size_probes_and_warms_up_within_its_budget(trained):
    root, _, model = trained
    path = export_saved_model(model, str(root / "small"), "digits", max_pixels=1000)
    height, width = probe_size(64, 64, 1000)
    assert (height, width) == (31, 31)
    served = tf.saved_model.load(path).signatures["serving_default"]
    # Warm-up requests (TF Serving runs them before it serves) pass the export's own check.
    for record in tf.data.TFRecordDataset(os.path.join(path, WARMUP_FILE)):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        images = tf.make_ndarray(log.predict_log.request.inputs["images"])
        assert images.shape[1] * images.shape[2] <= 1000
        assert np.isfinite(served(images=tf.constant(images))["detection_scores"].numpy()).all()
    with pytest.raises(tf.errors.InvalidArgumentError, match="image too large"):
        served(images=tf.zeros((1, 40, 40, 3), tf.uint8))


@pytest.mark.parametrize("max_pixels", [0, -5])
def test_a_pixel_budget_must_be_positive(max_pixels):
    with pytest.raises(ValueError, match="max_pixels must be a positive number of pixels"):
        probe_size(64, 64, max_pixels)
