"""FusedBatchNormalization against Keras's BatchNormalization: the same numbers, one fused kernel."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo.layers import FusedBatchNormalization
from tests.helpers import check_layer


def _layers(**kwargs):
    """Keras's layer in float64 (the reference) and in float32, and the fused layer, with the same weights."""
    reference = keras.layers.BatchNormalization(dtype="float64", **kwargs)
    keras_bn, fused_bn = keras.layers.BatchNormalization(**kwargs), FusedBatchNormalization(**kwargs)
    for layer in (reference, keras_bn, fused_bn):
        layer.build((None, None, None, 3))
    rng = np.random.default_rng(1)
    weights = [w + rng.uniform(0.1, 0.5, w.shape).astype(np.float32) for w in keras_bn.get_weights()]
    for layer in (reference, keras_bn, fused_bn):
        layer.set_weights(weights)
    return reference, keras_bn, fused_bn


def _pair(**kwargs):
    return _layers(**kwargs)[1:]


def _batch(shape=(2, 5, 4, 3), seed=0, dtype=np.float32):
    return (np.random.default_rng(seed).normal(2.0, 3.0, size=shape)).astype(dtype)


def test_standard_layer_checks():
    check_layer(FusedBatchNormalization, {"momentum": 0.9}, _batch(), expected_output_shapes=[(2, 5, 4, 3)])


@pytest.mark.parametrize("kwargs", [{"momentum": 0.5}, {"momentum": 0.9, "center": False, "scale": False},
                                    {"epsilon": 1.001e-5}])
@pytest.mark.parametrize("shape", [(2, 5, 4, 3), (1, 2, 1, 3)])
def test_a_training_step_is_as_accurate_as_keras(kwargs, shape):
    """Outputs, gradients (inputs, gamma, beta) and moving statistics of one training step, against Keras's
    layer computed in float64: the fused layer's error is at most Keras's own float32 error (two values per
    channel and a small epsilon make the input gradient a difference of nearly equal terms in both)."""
    x, upstream = _batch(shape), _batch(shape, seed=2)
    results = []
    for layer, dtype in zip(_layers(**kwargs), (tf.float64, tf.float32, tf.float32)):
        inputs = tf.constant(x, dtype)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            y = layer(inputs, training=True)
            loss = tf.reduce_sum(y * tf.cast(upstream, dtype))
        grads = tape.gradient(loss, [inputs, *layer.trainable_weights])
        results.append([np.asarray(t, np.float64) for t in (y, *grads, *layer.non_trainable_weights)])
    reference, keras_float32, fused = results
    for ref, k, f in zip(reference, keras_float32, fused):
        keras_error = np.max(np.abs(k - ref))
        assert np.max(np.abs(f - ref)) <= 2 * keras_error + 1e-6 * (1 + np.max(np.abs(ref)))


def test_the_batch_statistics_normalize_by_hand():
    """Each channel standardized with its biased batch variance; the moving mean moves toward the batch mean."""
    layer = FusedBatchNormalization(momentum=0.75, epsilon=1e-3, center=False, scale=False)
    x = np.array([1.0, 2.0, 3.0, 6.0], np.float32).reshape(1, 2, 2, 1)
    y = layer(x, training=True).numpy().ravel()
    mean, variance = 3.0, np.mean((np.array([1, 2, 3, 6]) - 3.0) ** 2)  # 3.5
    np.testing.assert_allclose(y, (np.array([1, 2, 3, 6]) - mean) / np.sqrt(variance + 1e-3), rtol=1e-5)
    np.testing.assert_allclose(layer.moving_mean.numpy(), [0.25 * mean], rtol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), [0.75 + 0.25 * variance], rtol=1e-6)


@pytest.mark.parametrize("frozen", [False, True])
def test_inference_and_frozen_layers_are_keras_code(frozen):
    keras_bn, fused_bn = _pair()
    keras_bn.trainable = fused_bn.trainable = not frozen
    x = _batch()
    training = frozen  # a frozen layer called in training mode uses its moving statistics
    np.testing.assert_allclose(fused_bn(x, training=training), keras_bn(x, training=training), atol=1e-6)
    np.testing.assert_array_equal(fused_bn.moving_mean.numpy(), keras_bn.moving_mean.numpy())


def test_other_ranks_fall_back_to_keras():
    keras_bn, fused_bn = keras.layers.BatchNormalization(), FusedBatchNormalization()
    x = _batch((6, 3))
    np.testing.assert_allclose(fused_bn(x, training=True), keras_bn(x, training=True), atol=1e-5)


def test_bfloat16_activations_train_with_float32_statistics():
    keras_bn, fused_bn = _pair()
    for layer in (keras_bn, fused_bn):
        layer.dtype_policy = keras.DTypePolicy("mixed_bfloat16")
    x = tf.constant(_batch(), tf.bfloat16)
    y_k, y_f = keras_bn(x, training=True), fused_bn(x, training=True)
    assert y_f.dtype == tf.bfloat16 and fused_bn.moving_mean.dtype == "float32"
    np.testing.assert_allclose(tf.cast(y_f, tf.float32), tf.cast(y_k, tf.float32), atol=0.05)
    np.testing.assert_allclose(fused_bn.moving_variance.numpy(), keras_bn.moving_variance.numpy(), rtol=1e-2)


def test_a_model_saves_and_reloads_safely(tmp_path):
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, FusedBatchNormalization(name="bn")(inputs))
    model.compile("sgd", "mse")
    model.fit(_batch((4, 4, 4, 3)), _batch((4, 4, 4, 3), seed=3), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert isinstance(loaded.get_layer("bn"), FusedBatchNormalization)
    np.testing.assert_allclose(loaded(_batch((1, 4, 4, 3))), model(_batch((1, 4, 4, 3))), atol=1e-6)
