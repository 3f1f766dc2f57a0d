"""The time budget the training benchmarks share: cosine decay to zero, then stop."""

import os
import sys

import keras
import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "benchmarks"))

from budget import Clock, TimeBudget  # noqa: E402


def _model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    return model


def _fit(model, budget, epochs=1000):
    x, y = np.zeros((8, 4), np.float32), np.zeros((8, 1), np.float32)
    return model.fit(x, y, batch_size=2, epochs=epochs, callbacks=[budget], verbose=0)


def test_stops_when_the_budget_is_spent_and_the_rate_decays_to_zero():
    model = _model()
    x, y = np.zeros((2, 4), np.float32), np.zeros((2, 1), np.float32)
    model.fit(x, y, batch_size=2, verbose=0)  # traces the train step, so tracing time stays out of the budget
    budget = TimeBudget(0.5)
    clock = Clock()
    _fit(model, budget)
    assert 0.5 <= clock.wall() < 10
    assert budget.steps > 1 and budget.epochs >= 1
    # The last step ran at a rate near the end of the cosine, far below the start value 0.1.
    assert float(model.optimizer.learning_rate) < 0.1 * 0.05


def test_warmup_ramps_the_rate_linearly():
    model = _model()
    budget = TimeBudget(60, base_learning_rate=1.0, warmup_steps=8)
    _fit(model, budget, epochs=1)  # 4 steps: the 4th runs at about 4/8 of the base rate
    assert float(model.optimizer.learning_rate) == pytest.approx(0.5, rel=1e-3)


def test_clock_kind_is_checked():
    with pytest.raises(ValueError, match="wall"):
        Clock("gpu")


def test_seed_summary_reports_mean_min_and_max_of_models_run_with_several_seeds():
    from budget import seed_summary

    results = [
        {"model": "a", "seed": 0, "mean_iou": 0.5},
        {"model": "a", "seed": 1, "mean_iou": 0.7},
        {"model": "a", "seed": 2, "mean_iou": 0.9},
        {"model": "b", "seed": 0, "mean_iou": 0.1},
    ]
    summary = seed_summary(results, "mean_iou")
    assert summary == "a over 3 seeds: mean_iou mean 0.700, min 0.500, max 0.900 (0: 0.500, 1: 0.700, 2: 0.900)"


def test_save_trained_keeps_seed_zero_where_the_export_benchmark_reads(tmp_path):
    from budget import save_trained

    model = _model()
    assert save_trained(model, tmp_path, "m") == os.path.join(tmp_path, "m", "best.keras")
    assert save_trained(model, tmp_path, "m", seed=3) == os.path.join(tmp_path, "m_seed3", "best.keras")
    assert os.path.exists(os.path.join(tmp_path, "m_seed3", "best.keras"))
