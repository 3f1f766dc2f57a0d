import math

import keras
import numpy as np
import pytest

from kzoo.backbones import LEVEL_STRIDES, build_backbone, list_backbones
from kzoo.backbones import applications

# Nets with "valid" padding lose a few pixels per level instead of exact halving.
VALID_PADDING = {"inception_v3", "inception_resnet_v2"}


@pytest.mark.parametrize("name", list_backbones())
def test_levels_have_their_strides(name):
    size = 128 if name in VALID_PADDING else 96
    backbone = build_backbone(name, (size, size, 3))
    images = np.random.default_rng(0).uniform(0, 255, (2, size, size, 3)).astype("float32")
    features = backbone(images)
    assert sorted(features) == ["P2", "P3", "P4", "P5"]
    previous = None
    for level in ["P2", "P3", "P4", "P5"]:
        feature = features[level]
        assert feature.shape[0] == 2
        assert np.all(np.isfinite(np.asarray(feature)))
        if name in VALID_PADDING:
            # Each level halves the previous one, less a few border pixels.
            if previous is not None:
                assert previous / 2 - 2 <= feature.shape[1] <= previous / 2 + 1, (level, feature.shape)
            previous = feature.shape[1]
        else:
            expected = math.ceil(size / LEVEL_STRIDES[level])
            assert feature.shape[1] == feature.shape[2] == expected, (level, feature.shape)


@pytest.mark.parametrize("name", ["tiny", "alexnet", "resnet50", "mobilenet_v2"])
def test_dynamic_input_size(name):
    backbone = build_backbone(name, (None, None, 3))
    features = backbone(np.zeros((1, 64, 96, 3), "float32"))
    assert tuple(features["P5"].shape[1:3]) == (2, 3)
    assert tuple(features["P2"].shape[1:3]) == (16, 24)


def test_imagenet_weights_reach_keras_applications(monkeypatch):
    calls = []
    constructor, mode = applications.APPLICATIONS["mobilenet_v2"]

    def recording_constructor(**kwargs):
        calls.append(kwargs["weights"])
        return constructor(**{**kwargs, "weights": None})

    monkeypatch.setitem(applications.APPLICATIONS, "mobilenet_v2", (recording_constructor, mode))
    build_backbone("mobilenet_v2", (64, 64, 3), weights="imagenet")
    assert calls == ["imagenet"]


def test_weights_file_loads_into_keras_application(tmp_path):
    net = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(64, 64, 3))
    path = str(tmp_path / "mobilenet_v2.weights.h5")
    net.save_weights(path)
    backbone = build_backbone("mobilenet_v2", (64, 64, 3), weights=path)
    images = np.random.default_rng(1).uniform(0, 255, (1, 64, 64, 3)).astype("float32")
    expected = net(images / 127.5 - 1.0)
    np.testing.assert_allclose(backbone(images)["P5"], expected, atol=1e-4)


@pytest.mark.parametrize("name", ["tiny", "alexnet"])
def test_weights_file_loads_into_own_backbone(name, tmp_path):
    first = build_backbone(name, (64, 64, 3))
    path = str(tmp_path / f"{name}.weights.h5")
    first.save_weights(path)
    second = build_backbone(name, (64, 64, 3), weights=path)
    images = np.random.default_rng(2).uniform(0, 255, (1, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(first(images)["P4"], second(images)["P4"], atol=1e-6)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown backbone"):
        build_backbone("resnet9000", (64, 64, 3))
    with pytest.raises(ValueError, match="input_shape"):
        build_backbone("tiny", (64, 64))
    with pytest.raises(ValueError, match="no ImageNet weights"):
        build_backbone("tiny", (64, 64, 3), weights="imagenet")
    with pytest.raises(ValueError, match="at least|too small"):
        build_backbone("resnet50", (16, 16, 3))
