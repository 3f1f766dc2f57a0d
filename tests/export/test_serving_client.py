import numpy as np
import pytest
import tensorflow as tf

import kzoo
from kzoo.export import export_saved_model, load_predictor
from kzoo.export.serving_client import ServingClient, ServingError
from tests.export.serving_double import ServingDouble


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("saved_models"))
    model = kzoo.build("classifier", num_classes=4, backbone="tiny", input_shape=(32, 32, 3))
    path = export_saved_model(model, base, "garments")
    with ServingDouble(base) as double:
        yield double, load_predictor(path)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(3).integers(0, 256, (3, 40, 36, 3), dtype=np.uint8)


@pytest.mark.parametrize("protocol, json_format", [("rest", "columnar"), ("rest", "row"), ("grpc", "columnar")])
def test_client_returns_the_savedmodel_predictions(served, images, protocol, json_format):
    double, local = served
    address = double.rest_address if protocol == "rest" else double.grpc_address
    client = ServingClient(address, "garments", protocol=protocol, json_format=json_format)
    expected = local.predict(images)
    got = client.predict(images)
    np.testing.assert_allclose(got["probabilities"], expected["probabilities"], atol=1e-6)
    np.testing.assert_array_equal(got["classes"], expected["classes"])
    pngs = [tf.io.encode_png(image).numpy() for image in images]
    by_bytes = client.predict_bytes(pngs)
    np.testing.assert_allclose(by_bytes["probabilities"], expected["probabilities"], atol=1e-6)


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_server_errors_surface_as_serving_errors(served, protocol):
    double, _ = served
    address = double.rest_address if protocol == "rest" else double.grpc_address
    client = ServingClient(address, "garments", protocol=protocol)
    with pytest.raises(ServingError, match="JPEG or PNG"):
        client.predict_bytes([b"not an image"])
    with pytest.raises(ServingError, match="not found|Servable"):
        ServingClient(address, "nonesuch", protocol=protocol).predict(np.zeros((1, 8, 8, 3), np.uint8))
    assert client.predict(np.zeros((1, 8, 8, 3), np.uint8))["classes"].shape == (1,)


def test_client_checks_its_arguments():
    with pytest.raises(ValueError, match="protocol"):
        ServingClient("localhost:8501", "m", protocol="soap")
    with pytest.raises(ValueError, match="uint8"):
        ServingClient("localhost:8501", "m").predict(np.zeros((1, 8, 8, 3), np.float32))
