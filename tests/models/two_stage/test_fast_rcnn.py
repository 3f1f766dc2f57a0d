"""Fast R-CNN: external proposals through training, augmentation, the command line and the predictors."""

import json
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from kzoo.data.pipeline import flip_left_right, random_zoom_in
from kzoo.export.predictor import host_proposals
from tests.helpers import REPO

PROPOSALS = np.array([[0.1, 0.2, 0.5, 0.6], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]], np.float32)


def _element():
    return {
        "image": np.zeros((40, 40, 3), np.uint8),
        "boxes": np.array([[0.2, 0.3, 0.4, 0.5]], np.float32),
        "classes": np.array([1], np.int32),
        "proposals": PROPOSALS,
    }


def test_flips_move_proposals_with_the_image_and_keep_padding():
    flipped = flip_left_right(_element())["proposals"].numpy()
    np.testing.assert_allclose(flipped, [[0.1, 0.4, 0.5, 0.8], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]], atol=1e-6)


def test_zoom_in_maps_proposals_into_the_window_and_keeps_padding():
    element = {key: tf.constant(value) for key, value in _element().items()}
    zoomed = random_zoom_in(element, min_scale=0.5, seed=3)
    before, after = element["boxes"].numpy()[0], zoomed["boxes"].numpy()[0]
    # The window (origin o, extent e per axis) that maps the box: b' = (b - o) / e.
    extent = (before[2:] - before[:2]) / (after[2:] - after[:2])
    origin = before[:2] - after[:2] * extent
    assert np.all(extent < 1.0)  # the seed gives a real zoom
    want = np.clip((PROPOSALS[0] - np.tile(origin, 2)) / np.tile(extent, 2), 0.0, 1.0)
    proposals = zoomed["proposals"].numpy()
    np.testing.assert_allclose(proposals[0], want, atol=1e-5)
    np.testing.assert_allclose(proposals[1], [0.0, 0.0, 1.0, 1.0], atol=1e-6)  # the whole image: the window
    np.testing.assert_array_equal(proposals[2], 0.0)  # padding stays padding


def test_host_proposals_are_padded_selective_search_boxes():
    image = np.zeros((48, 64, 3), np.uint8)
    image[8:30, 10:40] = (200, 30, 30)
    proposals = host_proposals(image[None], 25)
    assert proposals.shape == (1, 25, 4)
    real = (proposals[0, :, 2] > proposals[0, :, 0]) & (proposals[0, :, 3] > proposals[0, :, 1])
    assert real.any() and np.all(proposals[0][~real] == 0.0) and np.all((proposals >= 0) & (proposals <= 1))


def test_recipe_trains_on_two_replicas_and_the_cli_evaluates_and_predicts(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [
        sys.executable, os.path.join(REPO, "recipes", "fast_rcnn.py"), "--cpu-replicas", "2",
        "--dataset", "shapes/tiny", "--image-size", "64", "--epochs", "1", "--steps-per-epoch", "2",
        "--batch-size", "4", "--validation-steps", "1", "--proposals", "20", "--fc", "16", "--rois", "8",
        "--flip", "--out", str(out), "--verbose", "0",
    ]
    subprocess.run(command, check=True, cwd=REPO, env=env)
    record = json.loads((out / "history.json").read_text())
    assert record["replicas"] == 2 and set(record["history"]) >= {"roi_class_loss", "roi_box_loss"}
    kzoo_cli = [sys.executable, "-m", "kzoo_cli"]
    report = subprocess.run(
        kzoo_cli + ["evaluate", str(out / "best.keras"), "--dataset", "shapes/tiny", "--limit", "3",
                    "--out", str(tmp_path / "evaluation")],
        check=True, cwd=REPO, env=env, capture_output=True, text=True,
    ).stdout
    assert "AP" in report and (tmp_path / "evaluation" / "examples.png").exists()
    subprocess.run(
        kzoo_cli + ["export", str(out / "best.keras"), "--name", "fast_rcnn", "--out", str(tmp_path / "models")],
        check=True, cwd=REPO, env=env,
    )
    image = tmp_path / "photo.png"
    tf.io.write_file(str(image), tf.io.encode_png(np.full((50, 70, 3), 90, np.uint8)))
    subprocess.run(
        kzoo_cli + ["predict", str(tmp_path / "models" / "fast_rcnn" / "1"), str(image), "--out",
                    str(tmp_path / "predictions")],
        check=True, cwd=REPO, env=env,
    )
    assert list((tmp_path / "predictions").iterdir())
