"""FCN's upsampling and skip fusion, DeconvNet's switches, U-Net's options."""

import keras
import numpy as np
import pytest

from kzoo.layers import BedOfNailsUnpooling2D, MaxPoolingWithArgmax2D, MaxUnpooling2D
from kzoo.models.segmentation import build_deconvnet, build_fcn, build_unet
from kzoo.models.segmentation.bilinear_upsampling import bilinear_kernel
from kzoo.models.segmentation.deconvnet import ENCODERS


def _images(size, count=1, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (count, *size, 3)).astype("float32")


def numpy_transpose_conv(x, kernel, stride):
    """Reference "same" transpose convolution [H, W, Cin] -> [H*s, W*s, Cout], kernel [k, k, Cout, Cin].

    Every input pixel adds the kernel, weighted by its value, at stride s;
    the (k - s) // 2 leading rows and columns of the full result are dropped.
    """
    h, w, _ = x.shape
    k, s = kernel.shape[0], stride
    full = np.zeros(((h - 1) * s + k, (w - 1) * s + k, kernel.shape[2]))
    for i in range(h):
        for j in range(w):
            full[i * s : i * s + k, j * s : j * s + k] += np.einsum("aboc,c->abo", kernel, x[i, j])
    start = (k - s) // 2
    return full[start : start + h * s, start : start + w * s]


def test_fcn32s_upsamples_its_scores_bilinearly_and_crops_to_the_input():
    model = build_fcn(2, 32, "tiny", (50, 70, 3), head_filters=8)
    kernel = model.get_layer("upscore").get_weights()[0]
    np.testing.assert_allclose(kernel[:, :, 1, 1], np.outer(bilinear_kernel(32), bilinear_kernel(32)))
    assert not model.get_layer("upscore").trainable
    images = _images((50, 70))
    scores = keras.Model(model.input, model.get_layer("score_fr").output)(images).numpy()[0]
    assert scores.shape == (2, 3, 3)  # 50 x 70 padded to 64 x 96
    expected = numpy_transpose_conv(scores, kernel, 32)[:50, :70]
    np.testing.assert_allclose(model(images).numpy()[0], expected, atol=1e-4)


@pytest.mark.parametrize("output_stride, skips", [(32, []), (16, ["p4"]), (8, ["p4", "p3"])])
def test_fcn_variants_fuse_their_skips(output_stride, skips):
    model = build_fcn(2, output_stride, "tiny", (64, 64, 3), head_filters=8)
    names = {layer.name for layer in model.layers}
    for level in ["p4", "p3"]:
        assert (f"score_{level}" in names) == (level in skips)
        assert (f"fuse_{level}" in names) == (level in skips)
    assert model.get_layer("upscore").strides == (output_stride, output_stride)
    images = _images((64, 64))
    before = model(images).numpy()
    for level in skips:
        # Skip scores start at zero (the coarser net's output); changing them must change the output.
        layer = model.get_layer(f"score_{level}")
        kernel, bias = layer.get_weights()
        assert not kernel.any()
        layer.set_weights([np.random.default_rng(0).normal(size=kernel.shape).astype("float32"), bias])
        assert not np.allclose(model(images).numpy(), before)
        before = model(images).numpy()


def test_fcn_rejects_an_unknown_stride():
    with pytest.raises(ValueError):
        build_fcn(2, 4, "tiny", (64, 64, 3))


def test_deconvnet_unpools_to_the_positions_its_pooling_recorded():
    model = build_deconvnet(3, "tiny", (32, 48, 3))
    assert sum(isinstance(layer, MaxPoolingWithArgmax2D) for layer in model.layers) == 5
    assert sum(isinstance(layer, MaxUnpooling2D) for layer in model.layers) == 5
    unpool = model.get_layer("unpool1")
    values, switches = unpool.input
    probe = keras.Model(model.input, [values, switches, unpool.output, model.get_layer("pool1").output[1]])
    values, switches, unpooled, recorded = (np.asarray(t) for t in probe(_images((32, 48), 2)))
    np.testing.assert_array_equal(switches, recorded)
    assert unpooled.shape[1:3] == (32, 64)  # 48 padded to a multiple of 32
    for n in range(2):
        expected = np.zeros(unpooled[n].size, "float32")
        expected[switches[n].ravel()] = values[n].ravel()
        np.testing.assert_array_equal(unpooled[n], expected.reshape(unpooled[n].shape))


def test_deconvnet_bed_of_nails_variant_keeps_no_switches():
    model = build_deconvnet(3, "tiny", (32, 32, 3), unpooling="bed_of_nails")
    assert not any(isinstance(layer, (MaxPoolingWithArgmax2D, MaxUnpooling2D)) for layer in model.layers)
    assert sum(isinstance(layer, BedOfNailsUnpooling2D) for layer in model.layers) == 5
    unpooled = keras.Model(model.input, model.get_layer("unpool1").output)(_images((32, 32))).numpy()
    odd = np.ones((32, 32), bool)
    odd[::2, ::2] = False
    assert not unpooled[0][odd].any() and unpooled[0][~odd].any()


@pytest.mark.parametrize("preset", ["tiny", "slim", "small"])
def test_deconvnet_presets_mirror_their_encoder_widths(preset):
    config = ENCODERS[preset]
    model = build_deconvnet(3, preset, (32, 32, 3))
    for block, (filters, convs) in enumerate(zip(config.filters, config.convs), start=1):
        assert model.get_layer(f"conv{block}_{convs}").filters == filters
        # The mirror block's last deconvolution narrows to the next block's width.
        assert model.get_layer(f"deconv{block}_1").filters == config.filters[max(block - 2, 0)]
    assert model.get_layer("fc6").filters == config.fc_filters
    assert model.output.shape[1:] == (32, 32, 4)


def test_deconvnet_rejects_an_unknown_encoder_or_unpooling():
    with pytest.raises(ValueError):
        build_deconvnet(3, "resnet50")
    with pytest.raises(ValueError):
        build_deconvnet(3, "tiny", unpooling="nearest")


@pytest.mark.parametrize("backbone, skips", [("plain", 3), ("tiny", 3)])
def test_unet_concatenates_one_skip_per_encoder_level(backbone, skips):
    model = build_unet(2, backbone, (64, 64, 3), filters=(4, 8, 8, 16), decoder_filters=(16, 8, 8, 4, 4))
    concats = [layer for layer in model.layers if isinstance(layer, keras.layers.Concatenate)]
    assert len(concats) == skips
    # Each concatenation joins a skip and an upsampled map of the same resolution.
    for layer in concats:
        skip, up = layer.input
        assert skip.shape[1:3] == up.shape[1:3]


def test_unet_max_unpooling_uses_the_plain_encoders_switches():
    model = build_unet(2, "plain", (32, 32, 3), upsampling="max_unpooling", filters=(4, 8, 8))
    assert sum(isinstance(layer, MaxUnpooling2D) for layer in model.layers) == 2
    with pytest.raises(ValueError, match="plain"):
        build_unet(2, "tiny", (32, 32, 3), upsampling="max_unpooling")
    with pytest.raises(ValueError):
        build_unet(2, "plain", (32, 32, 3), upsampling="bicubic")
