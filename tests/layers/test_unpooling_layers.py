"""Unpooling and upsampling layers: standard layer checks plus their defining numbers."""

import os
import tempfile

import keras
import numpy as np
import pytest

from kzoo.layers import (
    BedOfNailsUnpooling2D,
    MaxPoolingWithArgmax2D,
    MaxUnpooling2D,
    NearestUnpooling2D,
    TransposeConvUpsampling,
)
from kzoo.ops import unpooling
from tests.helpers import check_layer

LECTURE_MAP = np.array([[1, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]], np.float32).reshape(1, 4, 4, 1)


def _features(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def test_bed_of_nails_layer():
    x = _features((2, 3, 4, 5))
    (out,) = check_layer(BedOfNailsUnpooling2D, {"size": (2, 3)}, x, expected_output_shapes=[(2, 6, 12, 5)])
    np.testing.assert_array_equal(out, unpooling.bed_of_nails_unpooling(x, (2, 3)).numpy())


def test_nearest_unpooling_layer():
    x = _features((2, 3, 4, 5))
    (out,) = check_layer(NearestUnpooling2D, {"size": 2}, x, expected_output_shapes=[(2, 6, 8, 5)])
    np.testing.assert_array_equal(out, np.repeat(np.repeat(x, 2, axis=1), 2, axis=2))


def test_max_pooling_with_argmax_layer():
    x = _features((2, 6, 8, 3))
    pooled, argmax = check_layer(
        MaxPoolingWithArgmax2D, {"pool_size": 2}, x, expected_output_shapes=[(2, 3, 4, 3)] * 2
    )
    expected_pooled, expected_argmax = unpooling.max_pool_with_argmax(x, 2)
    np.testing.assert_array_equal(pooled, expected_pooled.numpy())
    np.testing.assert_array_equal(argmax, expected_argmax.numpy())
    assert argmax.dtype == np.int32


def test_max_unpooling_layer():
    x = _features((2, 6, 8, 3))
    pooled, argmax = unpooling.max_pool_with_argmax(x, 2)
    values = _features((2, 3, 4, 3), seed=1)
    (out,) = check_layer(
        MaxUnpooling2D, {"size": 2}, [values, argmax.numpy()], expected_output_shapes=[(2, 6, 8, 3)]
    )
    np.testing.assert_array_equal(out, unpooling.max_unpooling(values, argmax, 2).numpy())


def test_lecture_example_through_layers():
    pooled, switches = MaxPoolingWithArgmax2D(2)(LECTURE_MAP)
    values = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32).reshape(1, 2, 2, 1)
    out = np.asarray(MaxUnpooling2D(2)([values, switches]))[0, :, :, 0]
    np.testing.assert_array_equal(out, [[0, 0, 2, 0], [0, 1, 0, 0], [0, 0, 0, 0], [3, 0, 0, 4]])
    nails = np.asarray(BedOfNailsUnpooling2D(2)(values))[0, :, :, 0]
    np.testing.assert_array_equal(nails, [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]])


def test_segnet_style_model_round_trip():
    # Encoder pooling switches wired to the decoder, odd input size, saved and reloaded.
    inputs = keras.Input((7, 9, 3))
    features = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    pooled, switches = MaxPoolingWithArgmax2D(2)(features)
    decoded = keras.layers.Conv2D(4, 3, padding="same")(pooled)
    restored = MaxUnpooling2D(2, output_size=(7, 9))([decoded, switches])
    model = keras.Model(inputs, restored)
    x = _features((2, 7, 9, 3))
    before = model.predict(x, verbose=0)
    assert before.shape == (2, 7, 9, 4)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "segnet.keras")
        model.save(path)
        reloaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), before, atol=1e-6)


def np_transpose_conv_1d(x, kernel):
    """The lecture's 1-D picture: each input adds a scaled copy of the filter at stride 2."""
    out = np.zeros(2 * (len(x) - 1) + len(kernel))
    for i, v in enumerate(x):
        out[2 * i : 2 * i + len(kernel)] += v * kernel
    return out


def test_transpose_conv_lecture_1d_example():
    # Input [a, b], filter [x, y, z]: output [ax, ay, az + bx, by, bz], one pixel too many.
    a, b, fx, fy, fz = 2.0, 3.0, 1.0, 10.0, 100.0
    full = np_transpose_conv_1d(np.array([a, b]), np.array([fx, fy, fz]))
    np.testing.assert_array_equal(full, [a * fx, a * fy, a * fz + b * fx, b * fy, b * fz])
    # The 1-D filter along the width in every row: a one-row input then gives
    # the 1-D result in every output row, whichever row the crop keeps.
    kernel = np.zeros((3, 3, 1, 1), np.float32)
    kernel[:, :, 0, 0] = [fx, fy, fz]
    x = np.array([[a, b]], np.float32).reshape(1, 1, 2, 1)
    for alignment, crop in (("pad", slice(1, None)), ("same", slice(None, -1))):
        layer = TransposeConvUpsampling(1, alignment=alignment, use_bias=False)
        layer.build(x.shape)
        layer.conv.kernel.assign(kernel)
        out = np.asarray(layer(x))
        assert out.shape == (1, 2, 4, 1)
        np.testing.assert_allclose(out[0, 0, :, 0], full[crop])


@pytest.mark.parametrize("kernel_size", [2, 3, 4, 5])
def test_transpose_conv_matches_numpy_and_keras_same(kernel_size):
    rng = np.random.default_rng(kernel_size)
    x = rng.normal(size=(2, 3, 5, 2)).astype(np.float32)
    for alignment in ("pad", "same"):
        layer = TransposeConvUpsampling(3, kernel_size, alignment=alignment)
        out = np.asarray(layer(x))
        assert out.shape == (2, 6, 10, 3)
        kernel = layer.conv.kernel.numpy()  # [k, k, out, in]
        full = np.zeros((2, 2 * 2 + kernel_size, 2 * 4 + kernel_size, 3))
        for i in range(3):
            for j in range(5):
                full[:, 2 * i : 2 * i + kernel_size, 2 * j : 2 * j + kernel_size] += np.einsum(
                    "nc,hwoc->nhwo", x[:, i, j], kernel
                )
        full += layer.conv.bias.numpy()
        start = (kernel_size - 1) // 2 if alignment == "pad" else (kernel_size - 2) // 2
        np.testing.assert_allclose(out, full[:, start : start + 6, start : start + 10], atol=1e-5)
    same = keras.layers.Conv2DTranspose(3, kernel_size, strides=2, padding="same")
    same.build(x.shape)
    same.set_weights(layer.conv.get_weights())
    np.testing.assert_allclose(out, np.asarray(same(x)), atol=1e-5)


def test_transpose_conv_upsampling_layer():
    x = _features((2, 4, 3, 2))
    check_layer(
        TransposeConvUpsampling,
        {"filters": 3, "activation": "relu", "kernel_regularizer": "l2"},
        x,
        expected_output_shapes=[(2, 8, 6, 3)],
    )


def test_transpose_conv_rejects_bad_arguments():
    with pytest.raises(ValueError):
        TransposeConvUpsampling(4, kernel_size=1)
    with pytest.raises(ValueError):
        TransposeConvUpsampling(4, alignment="valid")
