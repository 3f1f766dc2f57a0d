"""The speed/accuracy harness: FLOPs by hand, the Pareto frontier, and a 2 x 2 grid run twice."""

import math
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo_cli import main
from kzoo.tradeoffs import Cell, expand_grid, function_flops, pareto_frontier, peak_memory_mb, read_results


def test_flops_of_a_small_model_match_a_hand_count():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    outputs = keras.layers.Dense(5)(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    got = function_flops(lambda images: model(images), [tf.TensorSpec([1, 8, 8, 3], tf.float32)])
    conv = 2 * (3 * 3 * 3) * 4 * (8 * 8) + 4 * (8 * 8)  # multiply-adds of each output pixel, then the bias
    dense = 2 * (8 * 8 * 4) * 5 + 5
    assert got == conv + dense


def test_pareto_frontier_keeps_the_points_nothing_beats():
    points = [(10, 0.5), (5, 0.3), (20, 0.6), (12, 0.4), (5, 0.2), (30, 0.6)]
    assert pareto_frontier(points) == [1, 0, 2]


def test_peak_memory_sees_a_large_temporary():
    grown = peak_memory_mb(lambda: np.ones(4 * 2**20).sum())  # 32 MB of float64
    assert math.isnan(grown) or 28 < grown < 200


def test_grid_applies_proposals_to_region_based_models_and_refuses_bad_values():
    cells = expand_grid(["ssd", "rfcn"], ["tiny"], [64, 128], [10, 50])
    assert [c.key for c in cells] == ["ssd/tiny/64", "ssd/tiny/128", "rfcn/tiny/64/p10", "rfcn/tiny/64/p50",
                                      "rfcn/tiny/128/p10", "rfcn/tiny/128/p50"]
    assert Cell("rfcn", "tiny", 64, 10).trained_key == Cell("rfcn", "tiny", 64, 50).trained_key
    for bad in (dict(models=["nope"]), dict(backbones=["nope"]), dict(sizes=[100]), dict(proposals=[0])):
        with pytest.raises(ValueError):
            expand_grid(**{"models": ["ssd"], "backbones": ["tiny"], "sizes": [64], "proposals": [10], **bad})


def test_a_two_by_two_grid_writes_every_row_resumes_and_draws(tmp_path, capsys):
    out = str(tmp_path / "study" / "results.csv")
    common = ["tradeoffs", "--backbones", "tiny", "--dataset", "shapes/tiny", "--repeats", "2", "--test-limit", "4",
              "--out", out]
    # ssd x {32, 64} pixels: trained for a moment, so that every row has an AP.
    ssd = [*common, "--models", "ssd", "--sizes", "32", "64", "--train-minutes", "0.01", "--formats", "keras",
           "tflite_fp32"]
    main(ssd)
    rows = read_results(out)
    assert [r["key"] for r in rows] == ["ssd/tiny/32", "ssd/tiny/64"]
    for row in rows:
        assert row["parameters"] > 0 and row["gflops"] > 0 and row["keras_ms"] > 0 and row["tflite_fp32_ms"] > 0
        assert row["matmul_gflop_s"] > 0
        assert row["keras_gflop_s"] == pytest.approx(row["gflops"] / (row["keras_ms"] / 1000.0))
        assert 0.0 <= row["AP"] <= 1.0 and row["trained"] == "0.01 min"
        assert math.isnan(row["saved_model_ms"]) and math.isnan(row["proposals"])
    assert rows[1]["gflops"] > 3 * rows[0]["gflops"]  # four times the pixels
    assert os.path.exists(os.path.splitext(out)[0] + ".json")
    # The same grid again: nothing is measured twice; a new cell is added to the file.
    capsys.readouterr()
    main(ssd)
    assert "2 of 2 cells already in" in capsys.readouterr().out
    assert [r["keras_ms"] for r in read_results(out)] == [r["keras_ms"] for r in rows]
    main([*common, "--models", "rfcn", "--sizes", "64", "--proposals", "10", "20", "--formats", "keras"])
    keys = [r["key"] for r in read_results(out)]
    assert keys == ["ssd/tiny/32", "ssd/tiny/64", "rfcn/tiny/64/p10", "rfcn/tiny/64/p20"]
    for picture in ("results_pareto.png", "results_proposals.png"):
        image = tf.io.decode_png(tf.io.read_file(str(tmp_path / "study" / picture))).numpy()
        assert image.std() > 10, picture


def test_a_cell_that_cannot_be_built_is_skipped_with_its_reason(tmp_path, capsys):
    out = str(tmp_path / "results.csv")
    # Inception V3 has no stride-32 map at 96 pixels, so SSD cannot be built on it. The grid goes on past it.
    main(["tradeoffs", "--models", "ssd", "--backbones", "inception_v3", "tiny", "--sizes", "96", "--dataset",
          "shapes/tiny", "--repeats", "1", "--formats", "keras", "--out", out])
    printed = capsys.readouterr().out
    assert "skipped: input size 96 is too small for inception_v3" in printed
    assert [r["key"] for r in read_results(out)] == ["ssd/tiny/96"]
