"""Evaluate a trained model on a built-in dataset split, the way its task is judged.

``evaluate_model`` runs the model with decoding over the split and computes
the task's metrics; ``write_report`` prints them as a table and writes the
pictures (confusion matrix heat map, PR curves) that a person would rather
look at than read.
"""

import os

import keras
import numpy as np
import tensorflow as tf

import kzoo.data
from kzoo.export.inference import make_inference_fn
from kzoo.models.registry import spec_of


def predict_split(model, dataset=None, split="test", limit=None, batch_size=32):
    """(elements, predictions): the split's elements and one prediction dict per element."""
    spec = spec_of(model)
    ds = kzoo.data.load(dataset or spec.dataset, split=split)
    if limit is not None:
        ds = ds.take(limit)
    predict = tf.function(make_inference_fn(model))
    elements = list(ds.as_numpy_iterator())
    predictions = []
    progress = keras.utils.Progbar(len(elements), unit_name="image")
    for start in range(0, len(elements), batch_size):
        chunk = elements[start:start + batch_size]
        outputs = predict(tf.constant(np.stack([e["image"] for e in chunk])))
        outputs = {key: value.numpy() for key, value in outputs.items()}
        predictions += [{key: value[i] for key, value in outputs.items()} for i in range(len(chunk))]
        progress.add(len(chunk))
    return elements, predictions


def evaluate_classification(elements, predictions, class_names):
    from kzoo.metrics.classification import classification_report

    y_true = np.array([int(e["classes"][0]) for e in elements])
    y_pred = np.array([int(p["classes"]) for p in predictions])
    return classification_report(y_true, y_pred, num_classes=len(class_names))


EVALUATORS = {"classification": evaluate_classification}


def evaluate_model(model, dataset=None, split="test", limit=None):
    """The task metrics of ``model`` on a dataset split, as a dict (``"task"`` names the task)."""
    spec = spec_of(model)
    dataset = dataset or spec.dataset
    class_names = list(kzoo.data.info(dataset).class_names)
    elements, predictions = predict_split(model, dataset, split, limit)
    results = EVALUATORS[spec.task](elements, predictions, class_names)
    return {"task": spec.task, "dataset": dataset, "split": split, "examples": len(elements),
            "class_names": class_names, **results}


def write_report(results, out_dir, class_names=None):
    """Write the pictures for ``results`` into ``out_dir``; return the printed table.

    Arrays too large for a table (a confusion matrix) become pictures instead.
    """
    from kzoo.metrics import plots
    from kzoo.metrics.report import format_table

    os.makedirs(out_dir, exist_ok=True)
    class_names = class_names or results.get("class_names")
    table_values = {k: v for k, v in results.items() if k not in ("confusion_matrix", "class_names")}
    lines = [format_table(table_values, title=f"{results.get('task', '')} on {results.get('dataset', '')}")]
    if "confusion_matrix" in results:
        path = plots.plot_confusion_matrix(
            results["confusion_matrix"], os.path.join(out_dir, "confusion_matrix.png"), class_names
        )
        lines.append(f"wrote {path}")
    return "\n".join(lines)
