"""PadToMultiple, CropToMatch and the bilinear transpose-convolution initializer."""

import numpy as np
import pytest
import tensorflow as tf

from kzoo.models.segmentation import BilinearUpsampling, CropToMatch, PadToMultiple, bilinear_kernel, pad_to_multiple
from kzoo.models.segmentation.bilinear_upsampling import bilinear_transpose_conv
from tests.helpers import check_layer


def test_pad_to_multiple_layer_checks():
    x = np.random.default_rng(0).uniform(0, 255, (2, 5, 7, 3)).astype("float32")
    (out,) = check_layer(PadToMultiple, {"multiple": 4}, x, expected_output_shapes=[(2, 8, 8, 3)])
    np.testing.assert_array_equal(out, np.pad(x, ((0, 0), (0, 3), (0, 1), (0, 0))))


@pytest.mark.parametrize("mode", ["constant", "reflect", "symmetric"])
@pytest.mark.parametrize("size", [(8, 12), (9, 13), (3, 7)])
def test_pad_to_multiple_matches_numpy_pad(mode, size):
    x = np.random.default_rng(1).normal(size=(2, *size, 3)).astype("float32")
    pads = [(-s) % 4 for s in size]
    expected = np.pad(x, ((0, 0), (0, pads[0]), (0, pads[1]), (0, 0)), mode=mode)
    np.testing.assert_array_equal(pad_to_multiple(x, 4, mode).numpy(), expected)


def test_pad_to_multiple_dynamic_size_in_a_graph():
    fn = tf.function(lambda x: PadToMultiple(16)(x), input_signature=[tf.TensorSpec([None, None, None, 2])])
    assert fn(tf.zeros([3, 17, 32, 2])).shape == (3, 32, 32, 2)
    assert fn(tf.zeros([1, 1, 15, 2])).shape == (1, 16, 16, 2)


def test_pad_to_multiple_rejects_bad_arguments():
    with pytest.raises(ValueError):
        PadToMultiple(0)
    with pytest.raises(ValueError):
        PadToMultiple(8, mode="edge")


def test_crop_to_match_layer_checks():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 8, 8, 3)).astype("float32")
    reference = rng.normal(size=(2, 5, 7, 1)).astype("float32")
    (out,) = check_layer(CropToMatch, {}, [x, reference], expected_output_shapes=[(2, 5, 7, 3)])
    np.testing.assert_array_equal(out, x[:, :5, :7])


def test_crop_to_match_dynamic_size_in_a_graph():
    spec = tf.TensorSpec([None, None, None, 4])
    fn = tf.function(lambda x, ref: CropToMatch()([x, ref]), input_signature=[spec, spec])
    x = tf.reshape(tf.range(2 * 6 * 6 * 4, dtype=tf.float32), [2, 6, 6, 4])
    np.testing.assert_array_equal(fn(x, tf.zeros([2, 3, 5, 4])).numpy(), x.numpy()[:, :3, :5])


def test_bilinear_kernel_by_hand():
    np.testing.assert_allclose(bilinear_kernel(2), [0.25, 0.75, 0.75, 0.25])
    np.testing.assert_allclose(bilinear_kernel(4), np.array([1, 3, 5, 7, 7, 5, 3, 1]) / 8)


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_bilinear_transpose_conv_is_bilinear_resize_inside_the_image(factor):
    x = np.random.default_rng(factor).normal(size=(2, 5, 6, 3)).astype("float32")
    up = bilinear_transpose_conv(3, factor)(x).numpy()
    resized = tf.image.resize(x, (5 * factor, 6 * factor), method="bilinear").numpy()
    assert up.shape == resized.shape
    # Away from the borders every output pixel has both neighbours; at the
    # borders the transpose convolution treats the missing one as zero.
    inner = slice(factor // 2, -(factor // 2))
    np.testing.assert_allclose(up[:, inner, inner], resized[:, inner, inner], atol=1e-5)


def test_bilinear_initializer_is_per_channel_and_serializable():
    kernel = np.asarray(BilinearUpsampling(2)((4, 4, 3, 2)))
    np.testing.assert_allclose(kernel[:, :, 0, 0], np.outer(bilinear_kernel(2), bilinear_kernel(2)))
    np.testing.assert_array_equal(kernel[:, :, 0, 1], 0)
    np.testing.assert_array_equal(kernel[:, :, 2, :], 0)
    assert BilinearUpsampling.from_config(BilinearUpsampling(8).get_config()).factor == 8
    with pytest.raises(ValueError):
        BilinearUpsampling(2)((3, 3, 1, 1))
    with pytest.raises(ValueError):
        BilinearUpsampling(1)
