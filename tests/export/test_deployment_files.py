import os

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

import kzoo

EXPORT_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "export")


def test_models_config_parses_and_serves_every_registered_model():
    with open(os.path.join(EXPORT_DIR, "models.config")) as handle:
        config = text_format.Parse(handle.read(), model_server_config_pb2.ModelServerConfig())
    served = {entry.name: entry.base_path for entry in config.model_config_list.config}
    for name in kzoo.list_models():
        assert served.get(name) == f"/models/{name}", f"{name} is missing from export/models.config"


def test_compose_file_mounts_saved_models_and_the_configs():
    with open(os.path.join(EXPORT_DIR, "compose.yaml")) as handle:
        compose = handle.read()
    for needle in ("../saved_models:/models", "--model_config_file=/config/models.config",
                   "--batching_parameters_file=", "--enable_model_warmup=true"):
        assert needle in compose, needle
    assert os.path.exists(os.path.join(EXPORT_DIR, "batching_parameters.txt"))
