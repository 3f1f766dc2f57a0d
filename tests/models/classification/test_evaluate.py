"""How a classifier is judged, and the registry naming each model's evaluator."""

import dataclasses
import types

import numpy as np
import pytest

from kzoo.evaluation import evaluate_predictions
from kzoo.models import MODELS, ModelSpec, get_spec
from kzoo.models.classification.evaluate import evaluate

ELEMENTS = [{"classes": np.array([c], np.int32)} for c in (0, 1, 2, 2)]
PREDICTIONS = [{"classes": np.int64(c)} for c in (0, 1, 1, 2)]


def test_classification_metrics_by_hand():
    results = evaluate(ELEMENTS, PREDICTIONS, types.SimpleNamespace(num_classes=3))
    assert results["accuracy"] == pytest.approx(0.75)
    np.testing.assert_array_equal(results["confusion_matrix"], [[1, 0, 0], [0, 1, 0], [0, 1, 1]])


def test_every_registered_model_names_its_evaluator():
    assert all(callable(spec.evaluate) for spec in MODELS.values())
    spec = get_spec("classifier")
    others = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.name != "evaluate"}
    with pytest.raises(TypeError):  # no default: every entry says how it is judged
        ModelSpec(**others)


def test_evaluate_predictions_calls_the_spec_evaluator():
    results = evaluate_predictions("classifier", ELEMENTS, PREDICTIONS)
    assert results["task"] == "classification"
    assert results["dataset"] == "fashion_scenes/single"
    assert results["examples"] == 4
    assert results["accuracy"] == pytest.approx(0.75)

    seen = []
    spec = dataclasses.replace(get_spec("classifier"), evaluate=lambda e, p, info: seen.append(info) or {"x": 1.0})
    results = evaluate_predictions(spec, ELEMENTS, PREDICTIONS)
    assert results["x"] == 1.0 and seen[0].num_classes == 10
