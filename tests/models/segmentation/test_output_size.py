"""Output size equals input size, at sizes that are and are not multiples of the total stride."""

import numpy as np
import pytest

import kzoo
from kzoo.models.segmentation import build_deconvnet, build_unet
from tests.helpers import run_tflite, to_tflite

SEGMENTERS = ["sliding_window_segmenter", "fcn32s", "fcn16s", "fcn8s", "deconvnet", "unet"]
# 64 is a multiple of every total stride (32 at most); the others are not.
SIZES = [(64, 64), (50, 70), (33, 47)]


def _images(size, count=1, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (count, *size, 3)).astype("float32")


@pytest.mark.parametrize("name", SEGMENTERS)
def test_registered_segmenters_keep_the_input_size(name):
    for size in SIZES:
        model = kzoo.build(name, num_classes=3, backbone="tiny", input_shape=(*size, 3))
        assert model.output_shape == (None, *size, 4)
        assert model(_images(size, 2)).shape == (2, *size, 4)
    dynamic = kzoo.build(name, num_classes=3, backbone="tiny", input_shape=(None, None, 3))
    for size in SIZES:
        assert dynamic(_images(size)).shape == (1, *size, 4)


@pytest.mark.parametrize("upsampling", ["transpose_conv", "nearest", "bed_of_nails", "max_unpooling"])
def test_unet_upsamplings_keep_the_input_size(upsampling):
    model = build_unet(2, "plain", (None, None, 3), upsampling=upsampling, filters=(4, 8, 8))
    for size in SIZES:
        assert model(_images(size)).shape == (1, *size, 3)


def test_deconvnet_bed_of_nails_keeps_the_input_size():
    model = build_deconvnet(2, "tiny", (None, None, 3), unpooling="bed_of_nails")
    for size in SIZES:
        assert model(_images(size)).shape == (1, *size, 3)


@pytest.mark.parametrize(
    "build",
    [
        lambda shape: build_unet(2, "plain", shape, upsampling="max_unpooling", filters=(4, 8, 8)),
        lambda shape: kzoo.build("fcn8s", num_classes=2, backbone="tiny", input_shape=shape, head_filters=16),
    ],
    ids=["unet_max_unpooling", "fcn8s"],
)
def test_padding_and_cropping_convert_to_tflite_builtins(build):
    model = build((50, 70, 3))
    images = _images((50, 70), 1, seed=1)
    (lite,) = run_tflite(to_tflite(model, images), [images])
    assert lite.shape == (1, 50, 70, 3)
    np.testing.assert_allclose(lite, model(images).numpy(), atol=1e-4)


@pytest.mark.parametrize(
    "name",
    ["sliding_window_segmenter", "fcn32s", "fcn8s", "unet", pytest.param("deconvnet", marks=pytest.mark.slow)],
)
def test_default_backbones_build_and_keep_the_input_size(name):
    # Default backbones: the small patch net, VGG16 for FCN and DeconvNet, the plain encoder for U-Net.
    model = kzoo.build(name, num_classes=3, input_shape=(40, 72, 3))
    assert model(_images((40, 72))).shape == (1, 40, 72, 4)
