"""Unpooling ops against the lecture's examples, NumPy references and TF's own ops."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo.ops import unpooling

# The lecture's max-unpooling example: a 4x4 map max-pooled 2x2 to
# [[5, 6], [7, 8]]; later [[1, 2], [3, 4]] is unpooled to where 5, 6, 7, 8 were.
LECTURE_MAP = np.array([[1, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]], np.float32)
LECTURE_VALUES = np.array([[1, 2], [3, 4]], np.float32)


def _image(a):
    return np.asarray(a)[None, :, :, None]


def np_max_pool_with_argmax(x, ph, pw):
    """Reference: loops over windows, first maximum in row-major order wins."""
    n, h, w, c = x.shape
    oh, ow = h // ph, w // pw
    pooled = np.zeros((n, oh, ow, c), x.dtype)
    argmax = np.zeros((n, oh, ow, c), np.int64)
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for k in range(c):
                    best, where = -np.inf, -1
                    for dy in range(ph):
                        for dx in range(pw):
                            y, xx = i * ph + dy, j * pw + dx
                            if x[b, y, xx, k] > best:
                                best, where = x[b, y, xx, k], (y * w + xx) * c + k
                    pooled[b, i, j, k], argmax[b, i, j, k] = best, where
    return pooled, argmax


def np_max_unpool(values, argmax, out_h, out_w):
    """Reference: scatter every value to its per-image flat index."""
    n, _, _, c = values.shape
    out = np.zeros((n, out_h * out_w * c), values.dtype)
    for b in range(n):
        out[b, argmax[b].ravel()] = values[b].ravel()
    return out.reshape(n, out_h, out_w, c)


def test_bed_of_nails_lecture_example():
    out = unpooling.bed_of_nails_unpooling(_image(LECTURE_VALUES), 2).numpy()[0, :, :, 0]
    expected = [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]]
    np.testing.assert_array_equal(out, expected)


def test_max_unpooling_lecture_example():
    pooled, argmax = unpooling.max_pool_with_argmax(_image(LECTURE_MAP), 2)
    np.testing.assert_array_equal(pooled.numpy()[0, :, :, 0], [[5, 6], [7, 8]])
    # 5 is at (1, 1), 6 at (0, 2), 7 at (3, 0), 8 at (3, 3) of the 4x4 map.
    np.testing.assert_array_equal(argmax.numpy()[0, :, :, 0], [[5, 2], [12, 15]])
    out = unpooling.max_unpooling(_image(LECTURE_VALUES), argmax, 2).numpy()[0, :, :, 0]
    expected = [[0, 0, 2, 0], [0, 1, 0, 0], [0, 0, 0, 0], [3, 0, 0, 4]]
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("size", [2, (3, 2), (1, 4)])
def test_bed_of_nails_matches_numpy(size):
    sh, sw = (size, size) if isinstance(size, int) else size
    x = np.random.default_rng(1).normal(size=(2, 3, 5, 4)).astype(np.float32)
    expected = np.zeros((2, 3 * sh, 5 * sw, 4), np.float32)
    expected[:, ::sh, ::sw, :] = x
    np.testing.assert_array_equal(unpooling.bed_of_nails_unpooling(x, size).numpy(), expected)


@pytest.mark.parametrize("size", [2, (2, 3)])
def test_nearest_matches_numpy_and_keras(size):
    sh, sw = (size, size) if isinstance(size, int) else size
    x = np.random.default_rng(2).normal(size=(2, 4, 3, 5)).astype(np.float32)
    expected = np.repeat(np.repeat(x, sh, axis=1), sw, axis=2)
    got = unpooling.nearest_unpooling(x, size).numpy()
    np.testing.assert_array_equal(got, expected)
    keras_up = keras.layers.UpSampling2D((sh, sw), interpolation="nearest")(x)
    np.testing.assert_array_equal(got, np.asarray(keras_up))


def test_nearest_keeps_integer_dtype():
    x = np.arange(12, dtype=np.int32).reshape(1, 2, 3, 2)
    got = unpooling.nearest_unpooling(x, 2)
    assert got.dtype == tf.int32
    np.testing.assert_array_equal(got.numpy(), np.repeat(np.repeat(x, 2, axis=1), 2, axis=2))


@pytest.mark.parametrize("shape,pool", [((2, 8, 6, 3), 2), ((3, 7, 9, 2), (2, 3)), ((1, 9, 9, 4), 3)])
def test_max_pool_with_argmax_matches_tf_and_numpy(shape, pool):
    x = np.random.default_rng(3).normal(size=shape).astype(np.float32)
    pooled, argmax = unpooling.max_pool_with_argmax(x, pool)
    ph, pw = (pool, pool) if isinstance(pool, int) else pool
    tf_pooled, tf_argmax = tf.nn.max_pool_with_argmax(
        x, (ph, pw), (ph, pw), "VALID", include_batch_in_index=False
    )
    np.testing.assert_array_equal(pooled.numpy(), tf_pooled.numpy())
    np.testing.assert_array_equal(argmax.numpy(), tf_argmax.numpy())
    np_pooled, np_argmax = np_max_pool_with_argmax(x, ph, pw)
    np.testing.assert_array_equal(pooled.numpy(), np_pooled)
    np.testing.assert_array_equal(argmax.numpy(), np_argmax)
    assert argmax.dtype == tf.int32


def test_argmax_ties_take_first_like_tf():
    # Integer-valued inputs in a tiny range force many ties inside windows.
    x = np.random.default_rng(4).integers(0, 2, size=(2, 6, 6, 3)).astype(np.float32)
    _, argmax = unpooling.max_pool_with_argmax(x, 2)
    _, np_argmax = np_max_pool_with_argmax(x, 2, 2)
    _, tf_argmax = tf.nn.max_pool_with_argmax(x, 2, 2, "VALID", include_batch_in_index=False)
    np.testing.assert_array_equal(argmax.numpy(), np_argmax)
    np.testing.assert_array_equal(argmax.numpy(), tf_argmax.numpy())


def test_max_unpooling_matches_scatter_reference_with_tf_indices():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 6, 8, 4)).astype(np.float32)
    _, tf_argmax = tf.nn.max_pool_with_argmax(x, 2, 2, "VALID", include_batch_in_index=False)
    values = rng.normal(size=(3, 3, 4, 4)).astype(np.float32)
    got = unpooling.max_unpooling(values, tf_argmax, 2).numpy()
    np.testing.assert_array_equal(got, np_max_unpool(values, tf_argmax.numpy(), 6, 8))


def test_max_unpooling_odd_size_needs_output_size():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 7, 5, 3)).astype(np.float32)
    pooled, argmax = unpooling.max_pool_with_argmax(x, 2)
    assert pooled.shape == (2, 3, 2, 3)
    got = unpooling.max_unpooling(pooled, argmax, 2, output_size=(7, 5)).numpy()
    np.testing.assert_array_equal(got, np_max_unpool(pooled.numpy(), argmax.numpy(), 7, 5))
    # The dropped last row and column come back as zeros.
    assert not got[:, 6].any() and not got[:, :, 4].any()


def test_indices_are_batch_safe():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(4, 6, 6, 2)).astype(np.float32)
    pooled, argmax = unpooling.max_pool_with_argmax(x, 2)
    full = unpooling.max_unpooling(pooled, argmax, 2).numpy()
    for i in range(4):
        single_pooled, single_argmax = unpooling.max_pool_with_argmax(x[i : i + 1], 2)
        np.testing.assert_array_equal(single_argmax.numpy()[0], argmax.numpy()[i])
        np.testing.assert_array_equal(unpooling.max_unpooling(single_pooled, single_argmax, 2).numpy()[0], full[i])
    # Reordering the batch reorders the result and nothing else.
    order = [2, 0, 3, 1]
    shuffled = unpooling.max_unpooling(tf.gather(pooled, order), tf.gather(argmax, order), 2).numpy()
    np.testing.assert_array_equal(shuffled, full[order])


def test_pooling_gradient_matches_max_pool():
    x = tf.constant(np.random.default_rng(8).normal(size=(2, 6, 4, 3)).astype(np.float32))
    upstream = tf.constant(np.random.default_rng(9).normal(size=(2, 3, 2, 3)).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        ours = tf.reduce_sum(unpooling.max_pool_with_argmax(x, 2)[0] * upstream)
        theirs = tf.reduce_sum(tf.nn.max_pool2d(x, 2, 2, "VALID") * upstream)
    np.testing.assert_allclose(tape.gradient(ours, x).numpy(), tape.gradient(theirs, x).numpy())


def test_unpooling_gradient_reads_upstream_at_switches():
    rng = np.random.default_rng(10)
    x = rng.normal(size=(2, 4, 6, 2)).astype(np.float32)
    _, argmax = unpooling.max_pool_with_argmax(x, 2)
    values = tf.constant(rng.normal(size=(2, 2, 3, 2)).astype(np.float32))
    upstream = rng.normal(size=(2, 4, 6, 2)).astype(np.float32)
    with tf.GradientTape() as tape:
        tape.watch(values)
        loss = tf.reduce_sum(unpooling.max_unpooling(values, argmax, 2) * upstream)
    grad = tape.gradient(loss, values).numpy()
    flat_upstream = upstream.reshape(2, -1)
    expected = np.stack([flat_upstream[b, argmax.numpy()[b].ravel()] for b in range(2)]).reshape(grad.shape)
    np.testing.assert_allclose(grad, expected)
    assert np.isfinite(grad).all()


def test_works_in_graph_with_unknown_shapes():
    fn = tf.function(
        lambda v: unpooling.max_unpooling(*unpooling.max_pool_with_argmax(v, 2), 2),
        input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)],
    )
    x = np.random.default_rng(11).normal(size=(2, 4, 6, 3)).astype(np.float32)
    pooled, argmax = unpooling.max_pool_with_argmax(x, 2)
    np.testing.assert_array_equal(fn(x).numpy(), np_max_unpool(pooled.numpy(), argmax.numpy(), 4, 6))


@pytest.mark.parametrize("bad", [0, (2, 0), (1, 2, 3), -1])
def test_bad_sizes_raise(bad):
    with pytest.raises(ValueError):
        unpooling.bed_of_nails_unpooling(np.zeros((1, 2, 2, 1), np.float32), bad)


@pytest.mark.parametrize("shape,pool", [((2, 6, 6, 3), 2), ((1, 7, 9, 2), (2, 3))])
def test_tflite_switches_keep_the_first_of_tied_maxima(shape, pool):
    from tests.helpers import run_tflite, to_tflite

    # Zeros and ones: most windows hold tied maxima, as ReLU outputs do.
    x = np.random.default_rng(12).integers(0, 2, size=shape).astype(np.float32)
    ph, pw = (pool, pool) if isinstance(pool, int) else pool
    lite_pooled, lite_argmax = run_tflite(to_tflite(lambda v: unpooling.max_pool_with_argmax(v, pool), x), x)
    tf_pooled, tf_argmax = tf.nn.max_pool_with_argmax(x, (ph, pw), (ph, pw), "VALID", include_batch_in_index=False)
    np.testing.assert_array_equal(lite_pooled, tf_pooled.numpy())
    np.testing.assert_array_equal(lite_argmax, tf_argmax.numpy())


def test_switches_of_a_window_with_nan_stay_inside_that_window():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    x[0, 0, 0, 0] = np.nan
    _, argmax = unpooling.max_pool_with_argmax(x, 2)
    # The top-left window holds flat indices 0, 1, 4 and 5.
    assert argmax.numpy()[0, 0, 0, 0] in (0, 1, 4, 5)
    np.testing.assert_array_equal(argmax.numpy()[0, :, :, 0].ravel()[1:], [7, 13, 15])
