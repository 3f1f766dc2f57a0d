"""The detectors' graphs: output sizes, exact sliding windows, decoding perfect outputs, TFLite, saved settings."""

import math

import numpy as np
import pytest
import tensorflow as tf

import keras

import kzoo
import kzoo.data
from kzoo.export import export_tflite, load_predictor, make_inference_fn
from kzoo.models.detection import retinanet, sliding_window, ssd
from kzoo.models.detection.evaluate import evaluate
from kzoo.models.registry import get_spec

SMALL = {
    "retinanet": dict(num_channels=16, num_convs=1),
    "ssd": dict(extra_channels=16),
    "yolo": dict(head_channels=16, hidden_units=32),
    "sliding_window_detector": dict(),
}


def small(name, input_shape=(128, 128, 3), num_classes=5, **kwargs):
    kwargs = {"backbone": "tiny", **SMALL[name], **kwargs}
    return kzoo.build(name, num_classes=num_classes, input_shape=input_shape, **kwargs)


def raw(model):
    """The model's raw head outputs: its training graph, which shares its layers."""
    return get_spec(model.name).training_model(model)


def decode_raw(model, outputs, batch):
    """Raw head outputs -> detections through the model's own anchor and decoding layers."""
    images = tf.zeros((batch,) + tuple(model.input_shape[1:]))
    decoder = model.get_layer("detections")
    if model.name == "retinanet":
        return decoder([outputs["box_deltas"], outputs["class_logits"], model.get_layer("anchors")(images)])
    if model.name == "ssd":
        return decoder([outputs["box_deltas"], outputs["class_logits"], model.get_layer("default_boxes")(images)])
    if model.name == "yolo":
        return decoder(model.get_layer("yolo_boxes")(outputs))
    windows = model.get_layer("windows")(model.get_layer("image_pyramid")(images))
    return decoder([windows, outputs])


@pytest.mark.parametrize("size", [96, 100])
def test_anchor_counts_follow_the_input_size(size):
    """At sizes that are and are not multiples of the strides, outputs line up with anchors."""
    image = np.zeros((1, size, size, 3), np.float32)
    model = small("retinanet", (size, size, 3))
    out = raw(model)(image)
    anchors = retinanet.retinanet_anchors((size, size))
    grid = sum(math.ceil(size / s) ** 2 for s in (8, 16, 32, 64, 128))
    assert out["class_logits"].shape == (1, 9 * grid, 5) and anchors.shape == (9 * grid, 4)
    # The model's own anchors (a layer, settings in its config) are the targets' anchors.
    np.testing.assert_array_equal(model.get_layer("anchors")(image)[0], anchors)
    model = small("ssd", (size, size, 3))
    out = raw(model)(image)
    cells = [math.ceil(size / s) ** 2 for s in (8, 16, 32, 64, 128)]
    expected = sum(c * b for c, b in zip(cells, (4, 6, 6, 4, 4)))
    assert out["class_logits"].shape == (1, expected, 6) and ssd.ssd_default_boxes((size, size)).shape == (expected, 4)
    np.testing.assert_array_equal(model.get_layer("default_boxes")(image)[0], ssd.ssd_default_boxes((size, size)))
    assert raw(small("yolo", (size, size, 3)))(image).shape == (1, 7, 7, 2 * 5 + 5)
    model = small("sliding_window_detector", (size, size, 3))
    windows = sliding_window.sliding_windows((size, size))
    assert raw(model)(image).shape == (1, windows.shape[0], 6)
    np.testing.assert_array_equal(model.get_layer("windows")(model.get_layer("image_pyramid")(image))[0], windows)
    for name in SMALL:
        detections = small(name, (size, size, 3))(image)
        assert detections["detection_boxes"].shape == (1, 100, 4) and detections["num_detections"].shape == (1,)


def test_sliding_window_run_equals_classifying_each_crop():
    rng = np.random.default_rng(0)
    model = raw(small("sliding_window_detector", (100, 100, 3), num_classes=3))
    image = rng.uniform(0, 255, (1, 100, 100, 3)).astype(np.float32)
    logits = model(image, training=False).numpy()[0]
    classifier = model.get_layer("crop_classifier")
    offset = 0
    levels = model.get_layer("image_pyramid")(image)
    for (h, w), scaled in zip(sliding_window.scaled_sizes((100, 100)), levels):
        scaled = scaled.numpy()
        assert scaled.shape == (1, h, w, 3)
        cols = (w - 32) // 8 + 1
        count = ((h - 32) // 8 + 1) * cols
        for index in (0, count // 2, count - 1):
            i, j = divmod(index, cols)
            crop = scaled[:, 8 * i: 8 * i + 32, 8 * j: 8 * j + 32]
            alone = classifier(crop).numpy().reshape(-1)
            np.testing.assert_allclose(logits[offset + index], alone, atol=1e-4)
        offset += count
    assert offset == len(logits)
    # Called without ``training``, the model runs in inference mode (no batch statistics).
    np.testing.assert_allclose(model(image).numpy()[0], logits, atol=1e-6)


def test_retinanet_starts_at_the_prior_probability():
    model = small("retinanet")
    bias = model.get_layer("class_output").bias.numpy()
    np.testing.assert_allclose(bias, -math.log(99.0), rtol=1e-6)
    probs = tf.sigmoid(raw(model)(np.full((1, 128, 128, 3), 127.0, np.float32))["class_logits"]).numpy()
    assert abs(probs.mean() - 0.01) < 0.005


def test_crop_classifier_must_be_unpadded():
    with pytest.raises(ValueError, match="crop classifier"):
        kzoo.build("sliding_window_detector", num_classes=3, backbone="resnet50", input_shape=(64, 64, 3))


def _perfect_outputs(name, targets):
    """Raw head outputs that say exactly what the targets say."""
    big = 20.0
    if name == "retinanet":
        labels = targets["class_logits"]
        logits = np.where(np.eye(5, dtype=bool)[np.maximum(labels, 0)] & (labels >= 0)[..., None], big, -big)
        return {"box_deltas": targets["box_deltas"][..., :4], "class_logits": logits.astype(np.float32)}
    if name == "ssd":
        labels = np.maximum(targets["class_logits"], 0)
        logits = np.where(np.eye(6, dtype=bool)[labels], big, -big).astype(np.float32)
        return {"box_deltas": targets["box_deltas"][..., :4], "class_logits": logits}
    if name == "sliding_window_detector":
        return np.where(np.eye(6, dtype=bool)[np.maximum(targets, 0)], big, -big).astype(np.float32)
    cells = targets  # yolo: [N, S, S, 6]
    s = cells.shape[1]
    logit = lambda p: np.log(np.clip(p, 1e-6, 1 - 1e-6) / (1 - np.clip(p, 1e-6, 1 - 1e-6)))  # noqa: E731
    rows, cols = np.meshgrid(np.arange(s), np.arange(s), indexing="ij")
    boxes = cells[..., :4]
    first = np.stack(
        [
            logit((boxes[..., 0] + boxes[..., 2]) / 2 * s - rows),
            logit((boxes[..., 1] + boxes[..., 3]) / 2 * s - cols),
            logit(np.sqrt(boxes[..., 2] - boxes[..., 0])),
            logit(np.sqrt(boxes[..., 3] - boxes[..., 1])),
            np.where(cells[..., 4] > 0, big, -big),
        ],
        -1,
    )
    second = np.broadcast_to(np.array([0, 0, 0, 0, -big]), first.shape)
    classes = np.where(np.eye(5, dtype=bool)[np.maximum(cells[..., 5].astype(int), 0)], big, -big)
    return np.concatenate([first, second, classes], -1).astype(np.float32)


def _iou(a, b):
    h = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    w = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return h * w / (area(a)[:, None] + area(b)[None, :] - h * w)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_decoding_perfect_outputs_gives_back_the_groundtruth(name):
    """Targets from the real pipeline, turned into head outputs, decode (with NMS) to the boxes."""
    spec = get_spec(name)
    model = small(name)
    elements = list(kzoo.data.load("shapes/tiny", "train").take(4).as_numpy_iterator())
    pairs = [spec.targets(e, (128, 128)) for e in elements]
    targets = tf.nest.map_structure(lambda *ys: np.stack([np.asarray(y) for y in ys]), *[p[1] for p in pairs])
    detections = {k: v.numpy() for k, v in decode_raw(model, _perfect_outputs(name, targets), len(elements)).items()}
    for i, e in enumerate(elements):
        count = detections["num_detections"][i]
        boxes, classes = detections["detection_boxes"][i, :count], detections["detection_classes"][i, :count]
        assert count > 0
        iou = _iou(boxes, e["boxes"])
        if name == "sliding_window_detector":
            # Windows are the boxes: each detection is a window over an object of its class.
            same_class = classes[:, None] == e["classes"][None, :]
            assert np.all(np.max(np.where(same_class, iou, 0.0), axis=1) >= 0.5)
            continue
        if name == "yolo":
            # A cell keeps one object: the ones that lost their cell are not expected back.
            kept = np.unique(targets[i][targets[i][..., 4] > 0][:, :4], axis=0)
            e = {"boxes": kept, "classes": targets[i][targets[i][..., 4] > 0][:, 5].astype(int)}
            iou = _iou(boxes, e["boxes"])
        assert count == len(e["boxes"])
        np.testing.assert_allclose(iou.max(1), 1.0, atol=1e-3)
        np.testing.assert_array_equal(classes, e["classes"][iou.argmax(1)])
        assert sorted(iou.argmax(1)) == list(range(len(e["boxes"])))


def test_retinanet_converts_to_tflite_with_decode_and_nms(tmp_path):
    # The paper's initialisation (weights of std 0.01, every score near the prior) gives an
    # untrained model no detections, or near-ties that float rounding (TFLite sums in another
    # order) can reorder. A prior of 0.5 and a widely spread last layer give many detections
    # with distinct scores, so the comparison is of real, well-separated detections.
    model = small("retinanet", (64, 64, 3), num_classes=3, prior_probability=0.5)
    kernel, bias = model.get_layer("class_output").get_weights()
    kernel = np.random.default_rng(2).normal(0, 30.0, kernel.shape).astype(np.float32)
    model.get_layer("class_output").set_weights([kernel, bias])
    # At the model's input size: the TFLite file takes that size only, so the predictor resizes
    # other sizes outside the graph, which is not the graph's own resize.
    images = np.random.default_rng(1).integers(0, 255, (1, 64, 64, 3)).astype(np.uint8)
    expected = {k: v.numpy() for k, v in make_inference_fn(model)(tf.constant(images)).items()}
    assert expected["num_detections"][0] > 50
    assert np.min(-np.diff(expected["detection_scores"][0][: expected["num_detections"][0]])) > 1e-5
    lite = load_predictor(export_tflite(model, str(tmp_path / "retinanet.tflite"))).predict(images)
    for key, value in expected.items():
        if np.issubdtype(value.dtype, np.integer):
            np.testing.assert_array_equal(lite[key], value, err_msg=key)
        else:
            np.testing.assert_allclose(lite[key], value, atol=1e-4, err_msg=key)


def test_backbones_are_swappable():
    model = small("ssd", (64, 64, 3), backbone="mobilenet_v2")
    deltas = raw(model)(np.zeros((1, 64, 64, 3), np.float32))["box_deltas"]
    assert deltas.shape[1] == ssd.ssd_default_boxes((64, 64)).shape[0]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["retinanet", "ssd", "yolo"])
@pytest.mark.parametrize("backbone", ["resnet50", "mobilenet_v2"])
def test_heavy_backbones_build_and_predict(name, backbone):
    model = small(name, (128, 128, 3), backbone=backbone)
    outputs = model.predict(np.zeros((1, 128, 128, 3), np.float32), verbose=0)
    assert all(np.all(np.isfinite(v)) for v in tf.nest.flatten(outputs))


def test_evaluate_perfect_and_empty_predictions():
    info = kzoo.data.info("shapes/tiny")
    elements = list(kzoo.data.load("shapes/tiny", "test").take(3).as_numpy_iterator())
    perfect = [
        {
            "detection_boxes": e["boxes"],
            "detection_scores": np.ones(len(e["boxes"]), np.float32),
            "detection_classes": e["classes"],
            "num_detections": np.int32(len(e["boxes"])),
        }
        for e in elements
    ]
    assert evaluate(elements, perfect, info)["AP"] == pytest.approx(1.0)
    empty = [{**p, "num_detections": np.int32(0)} for p in perfect]
    result = evaluate(elements, empty, info)
    assert result["AP"] == 0.0 and result["AP50"] == 0.0
    assert set(result["per_class_AP"]) == set(info.class_names)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMALL))
def test_training_lowers_the_loss(name):
    """A smoke version of benchmarks/train_detectors.py: a few epochs on shapes/tiny."""
    from kzoo.training.pipeline import fit_dataset

    spec = get_spec(name)
    model = spec.training_model(small(name))
    spec.compile(model)
    data = fit_dataset(spec, "train", 16, (128, 128), shuffle=True, dataset="shapes/tiny")
    history = model.fit(data, epochs=8, verbose=0).history["loss"]
    assert np.all(np.isfinite(history))
    assert history[-1] < 0.8 * history[0]


@pytest.mark.parametrize("name", sorted(SMALL))
def test_decoding_settings_live_in_the_saved_model(name, tmp_path):
    """A reloaded checkpoint decodes with the settings it was built with, not the module's defaults."""
    # Below the untrained models' scores (near 1 / (C + 1), or half of 1 / C for YOLO) but RetinaNet's, whose
    # scores are spread widely here: some pass its threshold and some do not; the others fill their 7 rows.
    threshold = {"retinanet": 0.3, "yolo": 0.1}.get(name, 0.2)
    settings = dict(score_threshold=threshold, iou_threshold=0.4, max_detections=7, pre_nms_top_k=50)
    extra = dict(prior_probability=0.5) if name == "retinanet" else {}
    model = small(name, (64, 64, 3), num_classes=3, **settings, **extra)
    if name == "retinanet":
        # Spread the untrained scores, so that some pass 0.3 and some do not.
        kernel, bias = model.get_layer("class_output").get_weights()
        kernel = np.random.default_rng(2).normal(0, 30.0, kernel.shape).astype(np.float32)
        model.get_layer("class_output").set_weights([kernel, bias])
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    config = reloaded.get_layer("detections").get_config()
    assert {key: config[key] for key in settings} == settings
    images = np.random.default_rng(1).uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)
    got = {k: v.numpy() for k, v in reloaded(images).items()}
    assert got["detection_boxes"].shape == (2, 7, 4)
    assert 0 < got["num_detections"].max() <= 7
    scores = got["detection_scores"]
    valid = np.arange(7)[None] < got["num_detections"][:, None]
    assert np.all(scores[valid] > threshold) and np.all(scores[~valid] == 0)
    for key, value in model(images).items():
        np.testing.assert_allclose(got[key], value.numpy(), atol=1e-6, err_msg=key)
    if name == "retinanet":
        # Candidates the module's default threshold (0.05) would keep, and the saved 0.3 drops.
        probs = tf.sigmoid(raw(reloaded)(images)["class_logits"]).numpy()
        assert np.any((probs > 0.05) & (probs <= 0.3))
    # The training graph of the reloaded model is its raw outputs; it takes no settings.
    assert set(tf.nest.flatten(tf.nest.map_structure(lambda x: x.shape[0], raw(reloaded).output))) == {None}
    with pytest.raises(ValueError, match="takes no training settings"):
        get_spec(name).training_model(reloaded, {"rpn_num_samples": 8})
