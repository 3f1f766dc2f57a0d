import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Tests never reach the network: TFDS must not try to fetch anything.
os.environ.setdefault("TFDS_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", ".tfds_test_cache"))

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fixed_seed():
    keras.utils.set_random_seed(0)
    yield
