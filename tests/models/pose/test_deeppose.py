"""DeepPose: the refinement stage, the cascade loss and metric, the builder, decoding and the evaluator."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kzoo.data
from kzoo.metrics import pck
from kzoo.models.pose import (
    CascadeConfig,
    CascadeKeypointLoss,
    DeepPoseRefinement,
    FinalStagePCK,
    build_deeppose,
    compile_deeppose,
    decode_deeppose,
    deeppose_targets,
)
from kzoo.models.pose.evaluate import evaluate
from tests.helpers import check_layer

J = 14


def _keypoints(n, seed=0):
    return np.random.default_rng(seed).uniform(0.2, 0.8, (n, J, 2)).astype(np.float32)


def _images(n, size=32, seed=1):
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype(np.float32)


def _np_sides(keypoints, height, width, box_scale=1.0, torso=(9, 2), min_box_size=0.1):
    """Crop side per image in pixels: box_scale x the torso diameter, at least min_box_size of the larger side."""
    delta = (keypoints[:, torso[0]] - keypoints[:, torso[1]]) * [height, width]
    return np.maximum(box_scale * np.sqrt((delta ** 2).sum(-1)), min_box_size * max(height, width))


def test_refinement_layer_checks():
    kwargs = {"num_keypoints": J, "crop_size": 8, "filters": (4, 8), "hidden_units": 16, "jitter": 0.1, "seed": 3}
    (out,) = check_layer(DeepPoseRefinement, kwargs, [_images(2), _keypoints(2)], expected_output_shapes=[(2, J, 2)])
    # The displacement layer starts at zero: an untrained stage returns its
    # input (jitter acts in training only).
    np.testing.assert_allclose(out, _keypoints(2), atol=1e-7)


def test_crop_boxes_are_squares_around_each_joint():
    stage = DeepPoseRefinement(J, box_scale=1.5)
    keypoints = _keypoints(3)
    keypoints[2] = 0.5  # a collapsed estimate still gets the minimum crop
    boxes, sides = stage.crop_boxes(tf.constant(keypoints), 40.0, 80.0)
    side = _np_sides(keypoints, 40, 80, box_scale=1.5)
    half = 0.5 * side[:, None, None] / np.array([40.0, 80.0])
    np.testing.assert_allclose(boxes.numpy(), np.concatenate([keypoints - half, keypoints + half], -1), rtol=1e-5)
    np.testing.assert_allclose(sides.numpy(), 2 * half, rtol=1e-5)
    assert side[2] == pytest.approx(8.0)  # 0.1 x the 80-pixel width


def test_each_joint_is_cropped_from_its_own_place():
    # Joint i sits in the middle of a tile filled with value 10 * i; its crop
    # (box_scale 0 leaves the minimum size, 6.4 px, inside the 16-px tile) reads only that value.
    image = np.zeros((1, 64, 64, 3), np.float32)
    keypoints = np.zeros((1, J, 2), np.float32)
    for i in range(J):
        row, col = divmod(i, 4)
        image[0, row * 16 : row * 16 + 16, col * 16 : col * 16 + 16] = 10.0 * i
        keypoints[0, i] = [(row * 16 + 8) / 64, (col * 16 + 8) / 64]
    stage = DeepPoseRefinement(J, crop_size=8, box_scale=0.0)
    boxes, _ = stage.crop_boxes(tf.constant(keypoints), 64.0, 64.0)
    crops = stage.crop([tf.constant(image), boxes]).numpy()
    expected = np.broadcast_to(10.0 * np.arange(J)[None, :, None, None, None], crops.shape)
    np.testing.assert_allclose(crops, expected, rtol=1e-6)


def test_joint_i_moves_by_its_own_displacement_in_crop_units():
    stage = DeepPoseRefinement(J, crop_size=8, filters=(4,), hidden_units=8)
    images, keypoints = _images(2, size=48), _keypoints(2)
    stage([images, keypoints])
    kernel, _ = stage.displacement.get_weights()
    bias = np.random.default_rng(3).normal(0, 0.1, 2 * J).astype(np.float32)
    stage.displacement.set_weights([np.zeros_like(kernel), bias])
    out = stage([images, keypoints]).numpy()
    sides = _np_sides(keypoints, 48, 48) / 48.0
    np.testing.assert_allclose(out, keypoints + bias.reshape(J, 2)[None] * sides[:, None, None], rtol=1e-5, atol=1e-6)


def test_stage_learns_from_its_own_loss_only():
    stage = DeepPoseRefinement(J, crop_size=8, filters=(4,), hidden_units=8)
    images, keypoints = tf.constant(_images(2)), tf.Variable(_keypoints(2))
    with tf.GradientTape(persistent=True) as tape:
        loss = tf.reduce_sum(tf.square(stage([images, keypoints], training=True)))
    assert tape.gradient(loss, keypoints) is None
    grads = tape.gradient(loss, stage.trainable_weights)
    assert any(float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)


def test_jitter_only_in_training():
    stage = DeepPoseRefinement(J, crop_size=8, filters=(4,), hidden_units=8, jitter=0.2, seed=1)
    images, keypoints = _images(2), _keypoints(2)
    np.testing.assert_allclose(stage([images, keypoints], training=False).numpy(), keypoints, atol=1e-7)
    moved = stage([images, keypoints], training=True).numpy() - keypoints
    assert np.abs(moved).max() > 1e-3
    # The shifts are in crop sides: their spread is about jitter x side.
    sides = _np_sides(keypoints, 32, 32) / 32.0
    assert 0.1 < np.std(moved / sides[:, None, None]) < 0.3


def test_refinement_rejects_bad_arguments():
    with pytest.raises(ValueError, match="torso_joints"):
        DeepPoseRefinement(4, torso_joints=(9, 2))
    with pytest.raises(ValueError, match="crop_size"):
        DeepPoseRefinement(J, crop_size=4, filters=(8, 8, 8))


def _np_cascade_loss(y_true, y_pred):
    visible = y_true[..., 2] > 0
    distance = ((y_pred - y_true[:, None, :, :2]) ** 2).sum(-1)
    return (distance * visible[:, None]).sum() / (visible.sum() * y_pred.shape[1])


def test_cascade_loss_matches_numpy():
    rng = np.random.default_rng(4)
    y_true = np.concatenate([rng.uniform(0, 1, (3, J, 2)), rng.integers(0, 2, (3, J, 1))], -1).astype(np.float32)
    y_pred = rng.uniform(0, 1, (3, 2, J, 2)).astype(np.float32)
    assert float(CascadeKeypointLoss()(y_true, y_pred)) == pytest.approx(_np_cascade_loss(y_true, y_pred), rel=1e-5)
    # Hand case: stage 0 misses the visible joint by 0.1, stage 1 hits it; the hidden one is ignored.
    hand_true = [[[0.5, 0.5, 1.0], [0.2, 0.2, 0.0]]]
    hand = CascadeKeypointLoss()(hand_true, [[[[0.4, 0.5], [0.9, 0.9]], [[0.5, 0.5], [0.0, 0.0]]]])
    assert float(hand) == pytest.approx(0.005)
    nothing_visible = np.zeros((2, J, 3), np.float32)
    assert float(CascadeKeypointLoss()(nothing_visible, y_pred[:2])) == 0.0
    config = CascadeKeypointLoss(norm="l1").get_config()
    assert CascadeKeypointLoss.from_config(config).norm == "l1"


def test_final_stage_pck_scores_the_last_stage():
    rng = np.random.default_rng(5)
    y_true = np.concatenate([rng.uniform(0, 1, (8, J, 2)), rng.integers(0, 3, (8, J, 1))], -1).astype(np.float32)
    y_pred = (y_true[:, None, :, :2] + rng.normal(0, 0.1, (8, 3, J, 2))).astype(np.float32)
    metric = FinalStagePCK(alpha=0.2)
    metric.update_state(y_true, y_pred)
    assert float(metric.result()) == pytest.approx(pck(y_pred[:, -1], y_true, alpha=0.2)["pck"])


@pytest.mark.parametrize("stages", [0, 2])
def test_builder_stacks_every_stage(stages):
    model = build_deeppose(backbone="tiny", input_shape=(48, 48, 3), cascade=CascadeConfig(stages=stages, crop_size=8))
    assert model.name == "deeppose"
    out = model(_images(2, size=48))
    assert out.shape == (2, stages + 1, J, 2)
    # Before training a refinement stage returns its input.
    np.testing.assert_allclose(out.numpy(), np.repeat(out.numpy()[:, :1], stages + 1, axis=1), atol=1e-6)
    assert len([layer for layer in model.layers if isinstance(layer, DeepPoseRefinement)]) == stages


def test_builder_takes_the_papers_alexnet():
    model = build_deeppose(backbone="alexnet", input_shape=(64, 64, 3), num_keypoints=5,
                           cascade=CascadeConfig(torso_joints=(0, 1)))
    assert model.output_shape == (None, 2, 5, 2)


def test_later_stage_losses_do_not_train_the_regressor():
    model = build_deeppose(input_shape=(32, 32, 3), cascade=CascadeConfig(stages=1, crop_size=8))
    images = tf.constant(_images(2))
    y_true = np.concatenate([_keypoints(2, seed=6), np.ones((2, J, 1), np.float32)], -1)
    with tf.GradientTape() as tape:
        loss = CascadeKeypointLoss()(y_true, model(images, training=True)[:, 1:])
    grads = dict(zip([w.path for w in model.trainable_weights], tape.gradient(loss, model.trainable_weights)))
    regressor = [path for path in grads if path.startswith("joints/")]
    assert regressor and all(grads[path] is None or not np.any(grads[path]) for path in regressor)
    assert any(np.any(grads[path]) for path in grads if path.startswith("stage_1/"))


def test_targets_and_decode():
    keypoints = np.concatenate([_keypoints(1), np.ones((1, J, 1), np.float32)], -1)
    element = {"image": tf.zeros((16, 16, 3), tf.uint8), "keypoints": tf.constant(keypoints)}
    x, y = deeppose_targets(element, (32, 24))
    assert x.shape == (32, 24, 3)
    np.testing.assert_array_equal(y.numpy(), keypoints[0])
    stages = np.array([[[[0.1, 0.2]], [[1.2, -0.3]]]], np.float32)  # [N=1, S=2, J=1, 2]
    np.testing.assert_allclose(decode_deeppose(None, tf.constant(stages))["keypoints"].numpy(), [[[1.0, 0.0]]])


def test_compiled_loss_is_the_cascade_loss():
    model = build_deeppose(input_shape=(32, 32, 3), cascade=CascadeConfig(stages=1, crop_size=8))
    compile_deeppose(model)
    rng = np.random.default_rng(7)
    y_true = np.concatenate([_keypoints(4, seed=8), rng.integers(0, 2, (4, J, 1))], -1).astype(np.float32)
    images = _images(4)
    expected = _np_cascade_loss(y_true, model.predict(images, verbose=0))
    logs = model.evaluate(images, y_true, batch_size=4, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(expected, rel=1e-4)


def test_evaluate_reports_pck_per_joint():
    info = kzoo.data.info("stick_figures/single")
    true = np.zeros((2, J, 3), np.float32)
    true[:, :, 0] = np.linspace(0.1, 0.9, J)  # figures 0.8 tall: PCK@0.2 threshold 0.16
    true[:, :, 2] = 1
    true[1, 0, 2] = 0  # a hidden joint is not scored
    pred = true[:, :, :2].copy()
    pred[0, 0, 1] += 0.1  # within 0.16 but not within 0.08
    pred[0, 1, 1] += 0.2  # outside both
    elements = [{"keypoints": t[None]} for t in true]
    results = evaluate(elements, [{"keypoints": p} for p in pred], info)
    assert results["pck@0.2"] == pytest.approx(26 / 27)
    assert results["pck@0.1"] == pytest.approx(25 / 27)
    per_joint = results["pck@0.2 per joint"]
    assert per_joint["right_foot"] == 1.0 and per_joint["right_knee"] == 0.5 and per_joint["head_top"] == 1.0


@pytest.mark.slow
def test_short_training_beats_the_centre_guess():
    ds = kzoo.data.load("stick_figures/single", "train").take(512)
    pairs = [deeppose_targets(e, (64, 64)) for e in ds]
    images = np.stack([x.numpy() for x, _ in pairs])
    y_true = np.stack([y.numpy() for _, y in pairs])
    keras.utils.set_random_seed(0)
    model = build_deeppose()
    compile_deeppose(model)
    history = model.fit(images, y_true, batch_size=32, epochs=5, verbose=0)
    centre = np.full((len(images), 1, J, 2), 0.5, np.float32)
    assert history.history["loss"][-1] < 0.5 * _np_cascade_loss(y_true, centre)
