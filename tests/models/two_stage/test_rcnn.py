"""R-CNN's own parts: region warping with context, the SVM and box losses against NumPy, the two stages."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from kzoo.layers import WarpedRegions
from kzoo.losses import box_least_squares_loss, svm_hinge_loss
from kzoo.models.two_stage import build_rcnn, compile_two_stage, rcnn_training_model
from tests.helpers import REPO


def test_warped_regions_resample_the_box_with_its_context():
    # A linear ramp: bilinear sampling of it is exact, so every crop pixel is known.
    size = 64
    rows, cols = np.meshgrid(np.arange(size, dtype=np.float32), np.arange(size, dtype=np.float32), indexing="ij")
    image = np.stack([rows, cols, rows + cols], axis=-1)[None]
    box = np.array([[[0.25, 0.25, 0.75, 0.5]]], np.float32)  # 32 x 16 pixels, centred at (32, 24)
    crop = WarpedRegions(8, context_fraction=0.125)([image, box]).numpy()[0]
    # Context 1/8 per side: the box is enlarged 1 / (1 - 2/8) = 4/3 times, to 42.67 x 21.33 pixels.
    height, width = 32 * 4 / 3, 16 * 4 / 3
    centers = (np.arange(8) + 0.5) / 8
    want_rows = 32 - height / 2 + centers * height - 0.5
    want_cols = 24 - width / 2 + centers * width - 0.5
    np.testing.assert_allclose(crop[..., 0], np.repeat(want_rows[:, None], 8, axis=1), atol=1e-3)
    np.testing.assert_allclose(crop[..., 1], np.repeat(want_cols[None, :], 8, axis=0), atol=1e-3)
    assert crop.shape == (8, 8, 3)


def _hinge_reference(scores, labels, ratio, minimum):
    out = []
    for image_scores, image_labels in zip(scores, labels):
        positives, negatives = [], []
        for region, label in enumerate(image_labels):
            for c in range(scores.shape[-1]):
                if label == c:
                    positives.append(max(0.0, 1.0 - image_scores[region, c]))
                elif label == -1:
                    negatives.append(max(0.0, 1.0 + image_scores[region, c]))
        keep = int(max(ratio * len(positives), minimum))
        hardest = sorted(negatives, reverse=True)[:keep]
        count = len(positives) + len(hardest)
        out.append((sum(positives) + sum(hardest)) / count if count else 0.0)
    return np.array(out, np.float32)


@pytest.mark.parametrize("ratio, minimum", [(3.0, 4), (1.0, 0), (10.0, 50)])
def test_svm_hinge_loss_keeps_the_hardest_negatives(ratio, minimum):
    rng = np.random.default_rng(int(ratio * 10) + minimum)
    scores = rng.normal(0, 1.5, (3, 20, 4)).astype(np.float32)
    labels = rng.choice([-2, -1, -1, -1, 0, 1, 2, 3], (3, 20)).astype(np.int32)
    labels[2] = -2  # an image with nothing sampled: loss 0
    got = svm_hinge_loss(scores, labels, ratio, minimum).numpy()
    np.testing.assert_allclose(got, _hinge_reference(scores, labels, ratio, minimum), rtol=1e-5)
    assert got[2] == 0.0


def test_box_least_squares_reads_the_own_class_deltas_of_positives():
    rng = np.random.default_rng(0)
    deltas = rng.normal(size=(2, 5, 3, 4)).astype(np.float32)
    targets = rng.normal(size=(2, 5, 4)).astype(np.float32)
    labels = np.array([[0, 2, -1, -2, 1], [-1, -1, -1, -2, -2]], np.int32)
    want = np.mean([np.sum((deltas[0, i, c] - targets[0, i]) ** 2) for i, c in [(0, 0), (1, 2), (4, 1)]])
    np.testing.assert_allclose(box_least_squares_loss(deltas, labels, targets).numpy(), [want, 0.0], rtol=1e-5)


def test_the_svm_stage_trains_svms_and_boxes_on_a_frozen_cnn():
    model = build_rcnn(3, input_shape=(64, 64, 3), num_proposals=8, crop_size=32, representation_size=16)
    rng = np.random.default_rng(0)
    inputs = {
        "images": rng.uniform(0, 255, (2, 64, 64, 3)).astype(np.float32),
        "proposals": np.sort(rng.uniform(0, 1, (2, 8, 2, 2)), axis=2).reshape(2, 8, 4).astype(np.float32),
        "gt_boxes": np.array([[[0.1, 0.1, 0.5, 0.5]], [[0.2, 0.2, 0.9, 0.9]]], np.float32),
        "gt_classes": np.array([[1], [2]], np.int32),
    }
    targets = {"roi_class": np.zeros(2, np.float32), "roi_box": np.zeros(2, np.float32)}

    stage = rcnn_training_model(model, {"stage": "svm", "num_samples": 8, "seed": 0})
    compile_two_stage(stage)
    head = model.get_layer("rcnn_head")
    parts = {"cnn": model.get_layer("region_cnn"), "fc7": head.fc, "softmax": head.classifier,
             "svm": head.svm, "box": head.regressor}
    before = {name: [w.copy() for w in layer.get_weights()] for name, layer in parts.items()}
    history = stage.fit(inputs, targets, epochs=2, verbose=0).history
    assert all(np.isfinite(v).all() for v in history.values())
    moved = {
        name for name, layer in parts.items()
        if not all(np.array_equal(a, b) for a, b in zip(before[name], layer.get_weights()))
    }
    # Batch norm statistics of the CNN included: nothing of it moves.
    assert moved == {"svm", "box"}, moved
    with pytest.raises(ValueError, match="stage"):
        rcnn_training_model(model, {"stage": "bounding boxes"})


def test_recipe_runs_both_stages_on_two_replicas(tmp_path):
    out = tmp_path / "run"
    command = [
        sys.executable, os.path.join(REPO, "recipes", "rcnn.py"), "--cpu-replicas", "2",
        "--dataset", "shapes/tiny", "--image-size", "64",
        "--epochs", "1", "--svm-epochs", "1", "--steps-per-epoch", "1", "--validation-steps", "1", "--batch-size", "2",
        "--proposals", "16", "--crop-size", "32", "--fc", "16", "--regions", "8", "--out", str(out), "--verbose", "0",
    ]
    subprocess.run(command, check=True, cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert (out / "finetune" / "best.keras").exists() and (out / "best.keras").exists()
    record = json.loads((out / "history.json").read_text())
    history = record["history"]
    assert record["replicas"] == 2 and history["replica_0_examples"][-1] == history["replica_1_examples"][-1] == 1.0
    assert history["roi_box_loss"][-1] > 0.0  # the box regressors train in the second stage only
    model = keras.saving.load_model(out / "best.keras", safe_mode=True)
    assert model.name == "rcnn"
