"""Evaluate a trained model on a built-in dataset split, the way its task is judged.

``evaluate_model`` runs the model with decoding over the split and computes
the metrics its registry entry names (``ModelSpec.evaluate``);
``write_report`` prints them as a table and writes the pictures (confusion
matrix heat map, truth against predictions) that a person would rather look
at than read.
"""

import os

import keras
import numpy as np
import tensorflow as tf

import kzoo.data
from kzoo.export.inference import make_inference_fn, num_external_proposals
from kzoo.export.labels import model_dataset
from kzoo.models.registry import get_spec, spec_of


def _same_size_batches(elements, batch_size):
    """Consecutive runs of at most ``batch_size`` elements whose images have one shape (datasets of any sizes)."""
    batch = []
    for element in elements:
        if batch and (len(batch) == batch_size or batch[0]["image"].shape != element["image"].shape):
            yield batch
            batch = []
        batch.append(element)
    if batch:
        yield batch


def predict_split(predict_batch, dataset, split="test", limit=None, batch_size=32, num_proposals=None, verbose=1):
    """(elements, predictions) of a dataset split.

    Args:
        predict_batch: uint8 images [N, H, W, 3] -> prediction dict of numpy
            arrays (a Keras inference function, a SavedModel or TFLite
            predictor's ``predict``); ``predict_batch(images, proposals)``
            with ``num_proposals``.
        dataset, split: what to read; ``limit`` keeps the first examples only.
        num_proposals: for models with external proposals, the split's
            cached selective-search proposals (``kzoo.data.proposal_cache``)
            go with the images; the elements keep them as ``proposals``.
        verbose: 1 shows a progress bar over the images, 0 nothing.

    Returns:
        The split's elements and one prediction dict (no batch axis) per element.
    """
    ds = kzoo.data.load(dataset, split=split)
    if num_proposals is not None:
        from kzoo.data.proposal_cache import attach_proposals, split_proposals

        ds = attach_proposals(ds, split_proposals(dataset, split, num_proposals), num_proposals)
    if limit is not None:
        ds = ds.take(limit)
    elements = list(ds.as_numpy_iterator())
    predictions = []
    progress = keras.utils.Progbar(len(elements), unit_name="image", verbose=verbose)
    for chunk in _same_size_batches(elements, batch_size):
        images = np.stack([e["image"] for e in chunk])
        if num_proposals is None:
            outputs = predict_batch(images)
        else:
            outputs = predict_batch(images, np.stack([e["proposals"] for e in chunk]))
        outputs = {key: np.asarray(value) for key, value in outputs.items()}
        predictions += [{key: value[i] for key, value in outputs.items()} for i in range(len(chunk))]
        progress.add(len(chunk))
    return elements, predictions


def evaluate_predictions(spec, elements, predictions, dataset=None):
    """The metrics of a registered model's predictions on elements of ``dataset``.

    Args:
        spec: the model's ``ModelSpec`` or registered name; its ``evaluate``
            computes the metrics.
        elements, predictions: what ``predict_split`` returns.
        dataset: the dataset the elements came from (default: the spec's).

    Returns:
        ``spec.evaluate``'s metrics, with the ``task``, ``dataset``, number
        of ``examples`` and the dataset's ``class_names``.
    """
    if isinstance(spec, str):
        spec = get_spec(spec)
    dataset = dataset or spec.dataset
    info = kzoo.data.info(dataset)
    results = spec.evaluate(elements, predictions, info)
    return {"task": spec.task, "dataset": dataset, "examples": len(elements), "class_names": list(info.class_names),
            **results}


def evaluate_split(model, dataset=None, split="test", limit=None, verbose=1):
    """Run a Keras ``model`` (decoding included) over a dataset split and score it.

    ``dataset``: see ``model_dataset`` (by default the one the model learned from); ``verbose``: as
    ``predict_split``'s.

    Returns:
        ``(results, (elements, predictions))``: the task metrics, and what
        they were computed from (for ``write_report``'s examples).
    """
    spec = spec_of(model)
    dataset = model_dataset(model, dataset)
    inference = tf.function(make_inference_fn(model))
    elements, predictions = predict_split(
        lambda *inputs: inference(*[tf.constant(x) for x in inputs]), dataset, split, limit,
        num_proposals=num_external_proposals(model), verbose=verbose,
    )
    results = {**evaluate_predictions(spec, elements, predictions, dataset), "split": split}
    return results, (elements, predictions)


def evaluate_model(model, dataset=None, split="test", limit=None, verbose=1):
    """The task metrics of a Keras ``model`` (decoding included) on a dataset split (by default of the dataset
    it learned from: ``model_dataset``)."""
    return evaluate_split(model, dataset, split, limit, verbose)[0]


def save_examples(elements, predictions, path, dataset, count=6):
    """A picture of the first ``count`` elements: the truth in one row, the predictions below it.

    Label maps (semantic segmentation) get three rows, the image, the true
    labels and the predicted labels, drawn strongly over a faded image so
    that the classes stand out from the objects' own colours.
    """
    from kzoo.viz import save_grid, show_element, show_prediction

    pairs = list(zip(elements, predictions))[:count]
    if pairs and "segmentation_mask" in pairs[0][1]:
        rows = [
            [lambda ax, e=e: show_element(ax, {"image": e["image"]}, title="image") for e, _ in pairs],
            [lambda ax, e=e: _show_labels(ax, e["image"], e["segmentation"], "truth") for e, _ in pairs],
            [lambda ax, e=e, p=p: _show_labels(ax, e["image"], p["segmentation_mask"], "prediction")
             for e, p in pairs],
        ]
    else:
        info = kzoo.data.info(dataset)
        rows = [
            [lambda ax, e=e: show_element(ax, e, info.class_names, info.skeleton, title="truth") for e, _ in pairs],
            [lambda ax, e=e, p=p: show_prediction(ax, e["image"], p, info.class_names, info.skeleton)
             for e, p in pairs],
        ]
    return save_grid([fn for row in rows for fn in row], path, columns=max(len(pairs), 1))


def _show_labels(ax, image, label_map, title):
    from kzoo.viz import draw

    faded = 0.3 * np.asarray(image, np.float32) + 0.7 * 255.0
    ax.imshow(faded.astype(np.uint8))
    draw.overlay_segmentation(ax, label_map, alpha=0.9)
    ax.set_title(title, fontsize=8)
    ax.set_axis_off()


def write_report(results, out_dir, class_names=None, examples=None):
    """Write the pictures for ``results`` into ``out_dir``; return the printed table.

    Arrays too large for a table (a confusion matrix) become pictures instead.
    ``examples``, the ``(elements, predictions)`` the results came from, adds
    ``examples.png`` (see ``save_examples``).
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
    if examples is not None:
        path = save_examples(*examples, os.path.join(out_dir, "examples.png"), results["dataset"])
        lines.append(f"wrote {path} (the truth above the predictions)")
    return "\n".join(lines)
