"""Every kzoo loss class inside ``model.compile``: fit, ``.keras`` round-trip, and tf.distribute."""

import os
import subprocess
import sys
import tempfile
import textwrap

import keras
import numpy as np
import pytest

from kzoo import losses

BATCH = 4


def _labels(rng, shape, low, high):
    return rng.integers(low, high, size=shape).astype(np.int32)


def _packed(first, rest):
    return np.concatenate([first[..., None].astype(np.float32), rest.astype(np.float32)], -1)


def make_case(name):
    """(loss, y_pred shape without batch, y_true) for a batch of BATCH samples."""
    rng = np.random.default_rng(0)
    boxes = rng.random((BATCH, 6, 2)) * 0.5
    boxes = np.concatenate([boxes, boxes + 0.3], -1)
    weights = (rng.random((BATCH, 6)) < 0.5).astype(np.float32)
    cases = {
        "focal": lambda: (losses.FocalLoss(), (6, 3), _labels(rng, (BATCH, 6), -2, 3)),
        "focal_softmax": lambda: (
            losses.FocalLoss(alpha=None, activation="softmax", normalize_by="valid"),
            (6, 3),
            _labels(rng, (BATCH, 6), -1, 3),
        ),
        "dice": lambda: (losses.DiceLoss(from_logits=True), (4, 4, 3), _labels(rng, (BATCH, 4, 4), 0, 3)),
        "cross_entropy_dice": lambda: (
            losses.CrossEntropyDiceLoss(from_logits=True, ignore_class=2, class_weights=[1.0, 2.0, 1.0]),
            (4, 4, 3),
            _labels(rng, (BATCH, 4, 4), 0, 3),
        ),
        "smooth_l1": lambda: (
            losses.SmoothL1Loss(beta=0.1),
            (6, 4),
            np.concatenate([rng.normal(size=(BATCH, 6, 4)), weights[..., None]], -1).astype(np.float32),
        ),
        "giou": lambda: (losses.GIoULoss(), (6, 4), np.concatenate([boxes, weights[..., None]], -1).astype(np.float32)),
        "rpn": lambda: (
            losses.RPNLoss(),
            (6, 5),
            _packed(_labels(rng, (BATCH, 6), -2, 1), rng.normal(size=(BATCH, 6, 4))),
        ),
        "fast_rcnn": lambda: (
            losses.FastRCNNLoss(num_classes=2),
            (5, 3 + 8),
            _packed(_labels(rng, (BATCH, 5), -2, 2), rng.normal(size=(BATCH, 5, 4))),
        ),
        "mask": lambda: (
            losses.MaskLoss(),
            (2, 3, 3, 2),
            losses.per_class_mask_targets(rng.random((BATCH, 2, 3, 3)) < 0.5, _labels(rng, (BATCH, 2), -1, 2), 2),
        ),
        "keypoint_heatmap": lambda: (losses.KeypointHeatmapLoss(), (3, 3, 2), _labels(rng, (BATCH, 2), -1, 9)),
        "keypoint_coordinates": lambda: (
            losses.KeypointCoordinateLoss(norm="l1"),
            (3, 2),
            _packed(rng.integers(0, 3, size=(BATCH, 3)), rng.random((BATCH, 3, 2)))[..., [1, 2, 0]],
        ),
    }
    return cases[name]()


CASE_NAMES = [
    "focal",
    "focal_softmax",
    "dice",
    "cross_entropy_dice",
    "smooth_l1",
    "giou",
    "rpn",
    "fast_rcnn",
    "mask",
    "keypoint_heatmap",
    "keypoint_coordinates",
]


def tiny_model(output_shape):
    inputs = keras.Input((8,))
    outputs = keras.layers.Reshape(output_shape)(keras.layers.Dense(int(np.prod(output_shape)))(inputs))
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_compile_fit_save_and_reload(name):
    loss, output_shape, y_true = make_case(name)
    config = loss.get_config()
    assert type(loss).from_config(config).get_config() == config
    assert keras.losses.deserialize(keras.losses.serialize(loss)).get_config() == config

    x = np.random.default_rng(1).normal(size=(BATCH, 8)).astype(np.float32)
    model = tiny_model(output_shape)
    before = float(loss(y_true, model(x)))
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=loss)
    history = model.fit(x, y_true, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    # The reported loss is the one of the weights before the update.
    np.testing.assert_allclose(history.history["loss"][0], before, rtol=1e-5)
    assert np.isfinite(before)

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        reloaded = keras.saving.load_model(path, safe_mode=True)
    assert type(reloaded.loss) is type(loss) and reloaded.loss.get_config() == config
    np.testing.assert_allclose(
        reloaded.evaluate(x, y_true, batch_size=BATCH, verbose=0),
        model.evaluate(x, y_true, batch_size=BATCH, verbose=0),
        rtol=1e-6,
    )


DISTRIBUTED_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    sys.path.insert(0, sys.argv[1])
    from tests.losses.test_keras_integration import make_case, tiny_model

    x = np.random.default_rng(1).normal(size=(4, 8)).astype(np.float32)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    for name in sys.argv[2:]:
        loss, output_shape, y_true = make_case(name)
        keras.utils.set_random_seed(0)
        single = tiny_model(output_shape)
        initial = single.get_weights()
        single.compile(optimizer=keras.optimizers.SGD(0.5), loss=loss)
        single_loss = single.fit(x, y_true, batch_size=4, shuffle=False, verbose=0).history["loss"][0]
        with strategy.scope():
            mirrored = tiny_model(output_shape)
            mirrored.set_weights(initial)
            mirrored.compile(optimizer=keras.optimizers.SGD(0.5), loss=type(loss).from_config(loss.get_config()))
        mirrored_loss = mirrored.fit(x, y_true, batch_size=4, shuffle=False, verbose=0).history["loss"][0]
        for a, b in zip(single.get_weights(), mirrored.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(single_loss, mirrored_loss, rtol=1e-5, err_msg=name)
        print("ok", name, single_loss)
    """
)


def _run_distributed(names):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    result = subprocess.run(
        [sys.executable, "-c", DISTRIBUTED_SCRIPT, root, *names], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count("ok ") == len(names)


def test_mirrored_strategy_matches_one_device():
    # Two replicas see two samples each, with different numbers of positives:
    # one SGD step must move the weights exactly as on one device, which needs
    # the normalizers counted over the global batch. Three kinds of
    # normalization: positives (focal), sampled anchors (RPN), per image (Dice).
    _run_distributed(["focal", "rpn", "dice"])


@pytest.mark.slow
def test_mirrored_strategy_matches_one_device_for_every_loss():
    _run_distributed(CASE_NAMES)
