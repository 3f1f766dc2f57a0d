"""Detection layers: standard layer checks, references, and TFLite parity."""

import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo.export.tflite_convert import convert_callable
from kzoo.layers import AnchorGenerator, BalancedSampler, BoxCoder, BoxMatcher, DetectionDecoder, FeaturePyramid
from kzoo.layers import DefaultBoxes, SlidingWindows, YoloBoxes
from kzoo.ops import anchors as anchor_ops
from kzoo.ops import matching, nms
from tests.helpers import check_layer, run_tflite


def random_boxes(rng, shape, low=0.05, high=0.4):
    centre = rng.uniform(0.0, 1.0, shape + (2,))
    size = rng.uniform(low, high, shape + (2,))
    return np.concatenate([centre - size / 2, centre + size / 2], -1).astype(np.float32)


def np_decode(deltas, anchors, weights):
    acy, acx = (anchors[..., 0] + anchors[..., 2]) / 2, (anchors[..., 1] + anchors[..., 3]) / 2
    ah, aw = anchors[..., 2] - anchors[..., 0], anchors[..., 3] - anchors[..., 1]
    ty, tx, th, tw = (deltas[..., i] / weights[i] for i in range(4))
    cy, cx = ty * ah + acy, tx * aw + acx
    h, w = np.exp(np.minimum(th, np.log(1000 / 16))) * ah, np.exp(np.minimum(tw, np.log(1000 / 16))) * aw
    return np.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], -1)


def test_anchor_generator_layer():
    kwargs = dict(strides=(8, 16), sizes=(16, 32), scales=(1.0,), aspect_ratios=(0.5, 1.0, 2.0))
    images = np.zeros((2, 32, 48, 3), np.float32)
    (out,) = check_layer(AnchorGenerator, kwargs, images, expected_output_shapes=[(2, 90, 4)])
    want = anchor_ops.pyramid_anchors(
        32, 48, kwargs["strides"], kwargs["sizes"], kwargs["scales"], kwargs["aspect_ratios"]
    )
    np.testing.assert_allclose(out[0], want.numpy(), atol=1e-6)
    np.testing.assert_allclose(out[1], want.numpy(), atol=1e-6)
    layer = AnchorGenerator(**kwargs)
    assert layer.num_anchors(32, 48) == 90 and layer.anchors_per_location == 3
    dynamic = keras.Model(inp := keras.Input((None, None, 3)), layer(inp))
    np.testing.assert_allclose(dynamic(images)[0], want.numpy(), atol=1e-6)


def test_default_boxes_layer():
    ratios = [(1.0, 2.0, 0.5), (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0), (2.0, 0.5)]
    kwargs = dict(strides=(8, 16, 32), min_scale=0.1, max_scale=0.9, aspect_ratios=ratios)
    images = np.zeros((2, 40, 64, 3), np.float32)
    # Grids ceil(40 / s) x ceil(64 / s): 5 x 8, 3 x 4, 2 x 2; 4, 6 and 2 boxes (no extra square without ratio 1).
    (out,) = check_layer(DefaultBoxes, kwargs, images, expected_output_shapes=[(2, 40 * 4 + 12 * 6 + 4 * 2, 4)])
    want = anchor_ops.ssd_default_boxes([(5, 8), (3, 4), (2, 2)], 0.1, 0.9, ratios).numpy()
    np.testing.assert_allclose(out[0], want, atol=1e-6)
    np.testing.assert_allclose(out[1], want, atol=1e-6)
    layer = DefaultBoxes(**kwargs)
    assert layer.boxes_per_location == [4, 6, 2] and layer.num_boxes(40, 64) == 240
    assert DefaultBoxes(strides=(8, 16), aspect_ratios=(1.0, 2.0)).aspect_ratios == ((1.0, 2.0), (1.0, 2.0))
    with pytest.raises(ValueError, match="aspect ratios"):
        DefaultBoxes(strides=(8, 16), aspect_ratios=[(1.0,)] * 3)


def test_sliding_windows_layer():
    levels = [np.zeros((2, 64, 48, 3), np.float32), np.zeros((2, 32, 32, 3), np.float32)]
    (out,) = check_layer(SlidingWindows, dict(window=32, stride=8), levels, expected_output_shapes=[(2, 5 * 3 + 1, 4)])
    # Window (i, j) of an h x w level covers pixels [8 i, 8 i + 32) x [8 j, 8 j + 32).
    want = [[8 * i / 64, 8 * j / 48, (8 * i + 32) / 64, (8 * j + 32) / 48] for i in range(5) for j in range(3)]
    want.append([0.0, 0.0, 1.0, 1.0])
    np.testing.assert_allclose(out[0], want, atol=1e-6)
    np.testing.assert_allclose(out[1], want, atol=1e-6)
    with pytest.raises(ValueError, match="no 32x32 window"):
        SlidingWindows(window=32, stride=8)([keras.Input((16, 64, 3))])


def test_yolo_boxes_layer():
    rng = np.random.default_rng(3)
    s, b, c = 3, 2, 4
    grid = rng.normal(0, 2.0, (2, s, s, 5 * b + c)).astype(np.float32)
    kwargs = dict(grid_size=s, boxes_per_cell=b, num_classes=c)
    boxes, scores = check_layer(YoloBoxes, kwargs, grid, expected_output_shapes=[(2, s * s * b, 4), (2, s * s * b, c)])
    parts = 1 / (1 + np.exp(-grid[..., : 5 * b].reshape(2, s, s, b, 5)))
    rows, cols = np.meshgrid(np.arange(s), np.arange(s), indexing="ij")
    cy, cx = (rows[..., None] + parts[..., 0]) / s, (cols[..., None] + parts[..., 1]) / s
    h, w = parts[..., 2] ** 2, parts[..., 3] ** 2
    want_boxes = np.clip(np.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], -1), 0, 1).reshape(2, -1, 4)
    probs = np.exp(grid[..., 5 * b:]) / np.exp(grid[..., 5 * b:]).sum(-1, keepdims=True)
    want_scores = (parts[..., 4][..., None] * probs[:, :, :, None, :]).reshape(2, -1, c)
    np.testing.assert_allclose(boxes, want_boxes, atol=1e-6)
    np.testing.assert_allclose(scores, want_scores, atol=1e-6)
    with pytest.raises(ValueError, match="takes grids"):
        YoloBoxes(**kwargs)(keras.Input((s, s, 5 * b + c + 1)))


def test_box_coder_layer():
    rng = np.random.default_rng(0)
    anchors = random_boxes(rng, (2, 12))
    deltas = rng.normal(0, 0.5, (2, 12, 4)).astype(np.float32)
    kwargs = dict(box_weights=(10.0, 10.0, 5.0, 5.0))
    (out,) = check_layer(BoxCoder, kwargs, [deltas, anchors], expected_output_shapes=[(2, 12, 4)])
    np.testing.assert_allclose(out, np_decode(deltas, anchors, (10, 10, 5, 5)), atol=1e-5)
    coder = BoxCoder(**kwargs)
    np.testing.assert_allclose(coder.encode(out, anchors).numpy(), deltas, atol=1e-4)


def test_box_matcher_layer():
    rng = np.random.default_rng(1)
    anchors = random_boxes(rng, (2, 40))
    gt_boxes = random_boxes(rng, (2, 5))
    gt_classes = np.array([[0, 2, 1, -1, -1], [-1, -1, -1, -1, -1]], np.int32)
    kwargs = dict(foreground_iou=0.5, background_iou=0.3, allow_low_quality_matches=True)
    (out,) = check_layer(
        BoxMatcher, kwargs, [anchors, gt_boxes, gt_classes], expected_output_shapes=[(2, 40)], fit=False
    )
    np.testing.assert_array_equal(out, matching.match_boxes(anchors, gt_boxes, gt_classes, 0.5, 0.3, True).numpy())
    assert out.dtype == np.int32 and np.all(out[1] == -1) and np.any(out[0] >= 0)


def test_balanced_sampler_layer():
    labels = np.full((2, 200), -1, np.int32)
    labels[:, :30] = 1
    labels[:, 30:60] = -2
    layer = BalancedSampler(num_samples=40, positive_fraction=0.25, seed=3)
    config = layer.get_config()
    assert BalancedSampler.from_config(config).get_config() == config
    first = [m.numpy() for m in layer(labels)]
    second = [m.numpy() for m in layer(labels)]
    replay = BalancedSampler.from_config(config)
    np.testing.assert_array_equal(replay(labels)[0].numpy(), first[0])  # same seed, same sequence
    assert not np.array_equal(first[0], second[0])  # a fresh sample at each step
    for pos, neg in (first, second):
        np.testing.assert_array_equal(pos.sum(1), [10, 10])
        np.testing.assert_array_equal(neg.sum(1), [30, 30])
        assert np.all(labels[pos] >= 0) and np.all(labels[neg] == -1)

    inputs = keras.Input((200,), dtype="int32")
    model = keras.Model(inputs, BalancedSampler.from_config(config)(inputs))
    assert [tuple(t.shape) for t in model.outputs] == [(None, 200), (None, 200)]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sampler.keras")
        model.save(path)
        reloaded = keras.saving.load_model(path, safe_mode=True)
    pos, neg = (m.numpy() for m in reloaded(labels))
    np.testing.assert_array_equal(pos, first[0])
    np.testing.assert_array_equal(neg.sum(1), [30, 30])


def reference_pyramid(layer, features, min_level, max_level, extra):
    """FPN from its definition, with TF's conv2d and NumPy nearest upsampling."""

    def conv(sub, x, stride=1):
        kernel, bias = (w.numpy() for w in sub.weights)
        return tf.nn.conv2d(x, kernel, stride, "SAME").numpy() + bias

    levels = sorted(int(k[1:]) for k in features if int(k[1:]) >= min_level)
    merged, out = None, {}
    for level in reversed(levels):
        lateral = conv(layer.lateral_convs[f"P{level}"], features[f"P{level}"])
        if merged is not None:
            up = merged.repeat(2, axis=1).repeat(2, axis=2)
            missing = [(0, 0), (0, max(lateral.shape[1] - up.shape[1], 0)), (0, max(lateral.shape[2] - up.shape[2], 0)),
                       (0, 0)]
            up = np.pad(up, missing, mode="symmetric")  # a "valid"-padded level: its last rows repeated
            lateral = lateral + up[:, : lateral.shape[1], : lateral.shape[2]]
        merged = lateral
        out[level] = conv(layer.output_convs[f"P{level}"], lateral)
    source = features[f"P{levels[-1]}"]
    for level in range(levels[-1] + 1, max_level + 1):
        if extra == "conv":
            source = conv(
                layer.extra_convs[f"P{level}"], source if level == levels[-1] + 1 else np.maximum(source, 0), 2
            )
        else:
            source = out[level - 1][:, ::2, ::2]
        out[level] = source
    return {f"P{level}": out[level] for level in range(min_level, max_level + 1)}


# Odd sizes, as a "same"-padded backbone gives a 72 x 40 image: 18x10, 9x5, 5x3, 3x2.
SAME_PADDED = {"P2": (18, 10, 4), "P3": (9, 5, 6), "P4": (5, 3, 8), "P5": (3, 2, 10)}
# A "valid"-padded backbone (Inception's): each level has floor((h - 3) / 2) + 1 rows, so the 2x copy of
# the coarser level is one or two rows short of the finer one.
VALID_PADDED = {"P2": (20, 17, 4), "P3": (9, 8, 6), "P4": (4, 3, 8), "P5": (1, 1, 10)}


@pytest.mark.parametrize(
    "extra,min_level,max_level,tflite,shapes",
    [("conv", 3, 7, True, SAME_PADDED), ("pool", 2, 6, False, SAME_PADDED), ("pool", 2, 6, True, VALID_PADDED)],
)
def test_feature_pyramid(extra, min_level, max_level, tflite, shapes):
    rng = np.random.default_rng(2)
    features = {k: rng.normal(size=(2,) + s).astype(np.float32) for k, s in shapes.items()}
    kwargs = dict(num_channels=8, min_level=min_level, max_level=max_level, extra_levels=extra)
    layer = FeaturePyramid(**kwargs)
    config = layer.get_config()
    assert FeaturePyramid.from_config(config).get_config() == config

    inputs = {k: keras.Input(s, name=k) for k, s in shapes.items()}
    outputs = layer(inputs)
    assert sorted(outputs) == [f"P{level}" for level in range(min_level, max_level + 1)]
    model = keras.Model(inputs, outputs)
    got = model(features)
    want = reference_pyramid(layer, features, min_level, max_level, extra)
    for key in want:
        assert tuple(outputs[key].shape[1:]) == want[key].shape[1:], key
        np.testing.assert_allclose(got[key].numpy(), want[key], atol=1e-4, err_msg=key)

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "fpn.keras")
        model.save(path)
        reloaded = keras.saving.load_model(path, safe_mode=True)
    again = reloaded(features)
    for key in want:
        np.testing.assert_allclose(again[key].numpy(), got[key].numpy(), atol=1e-5)

    model.compile(optimizer="sgd", loss={key: "mse" for key in want})
    history = model.fit(features, {key: np.zeros_like(value) for key, value in want.items()}, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert all(
        np.any(a.numpy() != b)
        for a, b in zip(model.trainable_weights, [w.numpy() for w in reloaded.trainable_weights], strict=True)
    )

    if tflite:
        keys = sorted(shapes)
        specs = [tf.TensorSpec((2,) + shapes[k]) for k in keys]
        lite_bytes = convert_callable(lambda *xs: model(dict(zip(keys, xs, strict=True))), specs, trackable=model)
        lite = run_tflite(lite_bytes, [features[k] for k in keys])
        reference = model(features)
        for got_lite, key in zip(lite, sorted(reference), strict=True):
            np.testing.assert_allclose(got_lite, reference[key].numpy(), atol=1e-4, err_msg=key)


def detector_inputs(seed, batch=2, num_anchors=120, num_columns=3):
    rng = np.random.default_rng(seed)
    anchors = random_boxes(rng, (num_anchors,), 0.1, 0.4)
    deltas = rng.normal(0, 0.3, (batch, num_anchors, 4)).astype(np.float32)
    logits = rng.normal(0, 2.0, (batch, num_anchors, num_columns)).astype(np.float32)
    return deltas, logits, np.broadcast_to(anchors, (batch, num_anchors, 4)).copy()


def test_detection_decoder_layer_with_tflite():
    deltas, logits, anchors = detector_inputs(3)
    kwargs = dict(num_classes=3, iou_threshold=0.5, score_threshold=0.3, max_detections=15, pre_nms_top_k=100)
    out = check_layer(
        DetectionDecoder, kwargs, [deltas, logits, anchors], expected_output_shapes=[(2, 15, 4), (2, 15), (2, 15), (2,)]
    )
    boxes, classes, scores, count = out  # sorted by name: boxes, classes, scores, num_detections
    want = nms.multiclass_nms(
        np.clip(np_decode(deltas, anchors, (1, 1, 1, 1)), 0, 1), 1 / (1 + np.exp(-logits)), 15, 0.5, 0.3, 100
    )
    np.testing.assert_array_equal(count, want["num_detections"].numpy())
    np.testing.assert_array_equal(classes, want["detection_classes"].numpy())
    np.testing.assert_allclose(boxes, want["detection_boxes"].numpy(), atol=1e-5)
    np.testing.assert_allclose(scores, want["detection_scores"].numpy(), atol=1e-6)
    assert classes.dtype == np.int32 and count.dtype == np.int32 and 0 < count.min()
    assert np.all(scores[np.arange(15)[None] >= count[:, None]] == 0)


@pytest.mark.parametrize("class_agnostic", [False, True])
def test_detection_decoder_softmax_with_background(class_agnostic):
    deltas, logits, anchors = detector_inputs(4, num_columns=5)
    weights = (10.0, 10.0, 5.0, 5.0)
    decoder = DetectionDecoder(
        4, 0.45, 0.1, 20, class_agnostic=class_agnostic, activation="softmax", has_background=True, box_weights=weights
    )
    got = decoder([deltas, logits, anchors[0]])
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    boxes = np.clip(np_decode(deltas, anchors, weights), 0, 1).astype(np.float32)
    want = nms.multiclass_nms(boxes, probs[..., 1:], 20, 0.45, 0.1, 1000, class_agnostic)
    np.testing.assert_array_equal(got["num_detections"].numpy(), want["num_detections"].numpy())
    np.testing.assert_array_equal(got["detection_classes"].numpy(), want["detection_classes"].numpy())
    np.testing.assert_allclose(got["detection_scores"].numpy(), want["detection_scores"].numpy(), atol=1e-6)
    direct = decoder.nms(boxes, probs[..., 1:].astype(np.float32))
    np.testing.assert_array_equal(direct["num_detections"].numpy(), want["num_detections"].numpy())


def test_detection_decoder_on_decoded_boxes_with_tflite():
    """``[boxes, class_outputs]``: the same candidates and NMS, on boxes that need no decoding."""
    rng = np.random.default_rng(7)
    boxes = random_boxes(rng, (2, 80))
    logits = rng.normal(0, 2.0, (2, 80, 4)).astype(np.float32)
    kwargs = dict(
        num_classes=3, iou_threshold=0.5, score_threshold=0.2, max_detections=12, pre_nms_top_k=50,
        activation="softmax", has_background=True,
    )
    shapes = [(2, 12, 4), (2, 12), (2, 12), (2,)]
    out = check_layer(DetectionDecoder, kwargs, [boxes, logits], expected_output_shapes=shapes)
    got_boxes, classes, scores, count = out
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    want = nms.multiclass_nms(np.clip(boxes, 0, 1), probs[..., 1:].astype(np.float32), 12, 0.5, 0.2, 50)
    np.testing.assert_array_equal(count, want["num_detections"].numpy())
    np.testing.assert_array_equal(classes, want["detection_classes"].numpy())
    np.testing.assert_allclose(got_boxes, want["detection_boxes"].numpy(), atol=1e-6)
    np.testing.assert_allclose(scores, want["detection_scores"].numpy(), atol=1e-6)
    assert 0 < count.min()
    # Sigmoid outputs are thresholded on the logits, as with anchors.
    sigmoid = DetectionDecoder(3, score_threshold=0.3, max_detections=10)([boxes, logits[..., :3]])
    want = nms.multiclass_nms(np.clip(boxes, 0, 1), 1 / (1 + np.exp(-logits[..., :3])), 10, 0.5, 0.3)
    np.testing.assert_array_equal(sigmoid["num_detections"].numpy(), want["num_detections"].numpy())
    np.testing.assert_allclose(sigmoid["detection_scores"].numpy(), want["detection_scores"].numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="takes"):
        DetectionDecoder(3)([boxes])


def test_detection_decoder_no_detections_and_bad_inputs():
    deltas, logits, anchors = detector_inputs(5)
    got = DetectionDecoder(3, score_threshold=0.999, max_detections=7)([deltas, logits - 20.0, anchors])
    np.testing.assert_array_equal(got["num_detections"].numpy(), [0, 0])
    assert not np.any(got["detection_boxes"].numpy()) and not np.any(got["detection_scores"].numpy())
    with pytest.raises(ValueError):
        DetectionDecoder(4)([deltas, logits, anchors])
    with pytest.raises(ValueError):
        DetectionDecoder(3, activation="relu")


def test_box_layers_stay_float32_under_mixed_precision():
    deltas, logits, anchors = detector_inputs(6)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        images = keras.Input((32, 32, 3))
        anchor_layer = AnchorGenerator(strides=(8,), sizes=(16,))
        decoder = DetectionDecoder(3, score_threshold=0.3, max_detections=10)
        coder = BoxCoder()
        for layer in (anchor_layer, decoder, coder):
            assert layer.compute_dtype == "float32"
        assert anchor_layer(images).dtype == "float32"
        got = decoder([deltas.astype(np.float16), logits.astype(np.float16), anchors])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert got["detection_boxes"].dtype == tf.float32 and got["detection_classes"].dtype == tf.int32
    want = DetectionDecoder(3, score_threshold=0.3, max_detections=10)(
        [deltas.astype(np.float16).astype(np.float32), logits.astype(np.float16).astype(np.float32), anchors]
    )
    np.testing.assert_array_equal(got["num_detections"].numpy(), want["num_detections"].numpy())
    np.testing.assert_allclose(got["detection_boxes"].numpy(), want["detection_boxes"].numpy(), atol=1e-6)
