"""FusedAdam takes the same steps as Keras's Adam: alone, with Keras's options, saved, and on two replicas."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from kzoo.optimizers import FusedAdam

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(5, activation="tanh")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(hidden))


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(32, 6)).astype(np.float32), rng.normal(size=(32, 2)).astype(np.float32)


def _trained(optimizer, epochs=3):
    model = _model()
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(*_data(), batch_size=8, epochs=epochs, shuffle=False, verbose=0)
    return model


@pytest.mark.parametrize("kwargs", [
    {"learning_rate": 0.05},
    {"learning_rate": 0.05, "beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-4},
    {"learning_rate": 0.05, "weight_decay": 0.1, "global_clipnorm": 0.5},
    {"learning_rate": keras.optimizers.schedules.CosineDecay(0.05, 12)},
    {"learning_rate": 0.05, "amsgrad": True},  # Keras's own update
])
def test_twelve_steps_match_keras_adam(kwargs):
    """The same twelve gradients (fixed, so that round-off does not feed back through the model) move the
    variables and the moments as Keras's Adam does, to float32 round-off."""
    rng = np.random.default_rng(0)
    start = [rng.normal(size=shape).astype(np.float32) for shape in ((6, 5), (5,))]
    gradients = [[rng.normal(size=w.shape).astype(np.float32) for w in start] for _ in range(12)]
    results = []
    for optimizer in (keras.optimizers.Adam(**kwargs), FusedAdam(**kwargs)):
        variables = [keras.Variable(w) for w in start]
        for step in gradients:
            optimizer.apply(step, variables)
        results.append(([v.numpy() for v in variables], [v.numpy() for v in optimizer.variables]))
    (weights, slots), (fused_weights, fused_slots) = results
    assert int(fused_slots[0]) == 12  # iterations
    for a, b in zip(fused_weights + fused_slots, weights + slots):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_the_first_step_by_hand():
    """One step from zero moments: m = 0.1 g, v = 0.001 g^2, then w -= lr * sqrt(1 - 0.999) / (1 - 0.9) * m / (sqrt(v) + eps)."""
    variable = keras.Variable(np.array([1.0, -2.0], np.float32))
    gradient = np.array([0.5, -4.0], np.float32)
    optimizer = FusedAdam(learning_rate=0.1, epsilon=1e-7)
    optimizer.apply([gradient], [variable])
    m, v = 0.1 * gradient, 0.001 * gradient**2
    expected = np.array([1.0, -2.0]) - 0.1 * np.sqrt(0.001) / 0.1 * m / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-6)


def test_a_saved_model_resumes_with_its_optimizer_state(tmp_path):
    model = _trained(FusedAdam(0.05), epochs=1)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert isinstance(loaded.optimizer, FusedAdam)
    for m in (model, loaded):
        m.fit(*_data(), batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


TWO_REPLICAS = textwrap.dedent(
    """
    import sys
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    sys.path.insert(0, sys.argv[1])
    from kzoo.optimizers import FusedAdam
    from tests.optimizers.test_fused_adam import _data, _model

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    results = []
    for optimizer in (keras.optimizers.Adam, FusedAdam):
        with strategy.scope():
            model = _model()
            model.compile(optimizer=optimizer(0.01), loss="mse")
        model.fit(*_data(), batch_size=8, epochs=1, shuffle=False, verbose=0)
        for variable in model.trainable_variables:  # both replicas took every step
            first, second = (copy.numpy() for copy in variable.value.values)
            np.testing.assert_array_equal(first, second)
        results.append(model.get_weights())
    # Four steps of 0.01 each: a missed or doubled update is off by about 0.01, round-off by under 1e-6.
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=1e-5)
    print("same weights")
    """
)


def test_two_replicas_take_keras_adams_steps():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    result = subprocess.run([sys.executable, "-c", TWO_REPLICAS, ROOT], capture_output=True, text=True, env=env,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "same weights" in result.stdout
