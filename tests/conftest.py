import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Tests never reach the network: TFDS must not try to fetch anything.
os.environ.setdefault("TFDS_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", ".tfds_test_cache"))
# Selective-search proposals of the tiny splits are cached beside them.
os.environ.setdefault("KZOO_CACHE_DIR", os.path.join(os.path.dirname(__file__), "..", ".tfds_test_cache", "kzoo"))

import types  # noqa: E402

import keras  # noqa: E402
import pytest  # noqa: E402


TINY_DATASETS = ("shapes/tiny", "fashion_scenes/tiny", "fashion_scenes/single_tiny", "stick_figures/tiny",
                 "stick_figures/single_tiny")


def pytest_configure(config):
    """Generate the tiny built-in datasets once, in the main process, before any test (or xdist worker) runs.

    The suite runs in two pytest-xdist workers (``-n 2`` in pyproject.toml);
    two workers must never generate the same TFDS dataset at once.
    """
    if hasattr(config, "workerinput"):
        return
    import kzoo.data

    for name in TINY_DATASETS:
        kzoo.data.load(name, split="train")


@pytest.fixture(autouse=True)
def _fixed_seed():
    keras.utils.set_random_seed(0)
    yield


@pytest.fixture(scope="session")
def small_export(tmp_path_factory):
    """``small_export(name)``: registered model ``name`` (tiny backbone), exported once per session as a SavedModel.

    Returns a namespace with ``model``, ``images`` (2 uint8 images of the
    model's dataset), ``feed`` (the images, and their proposals for models
    that take them, by input name), ``path`` (the version directory) and
    ``signatures``.
    """
    import tensorflow as tf

    from kzoo.export import export_saved_model
    from tests.helpers import prediction_inputs, small_model_and_batch

    cache = {}

    def get(name):
        if name not in cache:
            keras.utils.set_random_seed(0)
            spec, model, inputs, _, images = small_model_and_batch(name, count=2)
            path = export_saved_model(model, str(tmp_path_factory.mktemp(name)), name)
            cache[name] = types.SimpleNamespace(
                name=name, spec=spec, model=model, images=images, path=path, feed=prediction_inputs(inputs, images),
                signatures=tf.saved_model.load(path).signatures,
            )
        return cache[name]

    return get
