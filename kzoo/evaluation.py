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
    elements, predictions = [], []
    total = None if limit is None else limit
    progress = keras.utils.Progbar(total, unit_name="image")
    for element in ds.as_numpy_iterator():
        elements.append(element)
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
    return classification_report(y_true, y_pred, num_classes=len(class_names), class_names=class_names)


EVALUATORS = {"classification": evaluate_classification}


def evaluate_model(model, dataset=None, split="test", limit=None):
    """The task metrics of ``model`` on a dataset split, as a dict (``"task"`` names the task)."""
    spec = spec_of(model)
    dataset = dataset or spec.dataset
    class_names = list(kzoo.data.info(dataset).class_names)
    elements, predictions = predict_split(model, dataset, split, limit)
    results = EVALUATORS[spec.task](elements, predictions, class_names)
    return {"task": spec.task, "dataset": dataset, "split": split, "examples": len(elements), **results}


def write_report(results, out_dir):
    """Write the pictures for ``results`` into ``out_dir``; return the printed table."""
    from kzoo.metrics.report import format_table, save_report_pictures

    os.makedirs(out_dir, exist_ok=True)
    pictures = save_report_pictures(results, out_dir)
    table = format_table(results)
    return table + "".join(f"\nwrote {path}" for path in pictures)
