"""Run a speed/accuracy grid: measure every cell, train or load what is scored, keep results resumable.

For each cell of the grid (``kzoo.tradeoffs.grid``): parameters, FLOPs per
image, peak memory of a prediction, latency at batch 1 of Keras predict, the
SavedModel and TFLite float32 / int8 (``kzoo.tradeoffs.measure``, the four
called in alternation), and COCO AP on the test split when the cell's model
was trained: by the harness within a time budget (``train_minutes``), or
from a checkpoint the user gives. Results are rewritten atomically after
every cell to a CSV file and a JSON file beside it; a rerun reads them and
measures only the cells missing, and reuses the checkpoints it trained.
"""

import csv
import json
import math
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

import kzoo.data
from kzoo.evaluation import evaluate_predictions, predict_split
from kzoo.export import export_saved_model, export_tflite, load_predictor, make_inference_fn
from kzoo.models.registry import get_spec
from kzoo.staging import replace_atomically
from kzoo.training.budget import TimeBudget
from kzoo.training.pipeline import fit_dataset
from kzoo.tradeoffs import grid
from kzoo.tradeoffs import measure

FORMATS = ("keras", "saved_model", "tflite_fp32", "tflite_int8")
COLUMNS = (
    "key", "model", "backbone", "image_size", "proposals", "parameters", "gflops", "peak_memory_mb",
    *[f"{name}_ms" for name in FORMATS], "matmul_gflop_s", "keras_gflop_s", "tflite_fp32_gflop_s", "AP", "AP50",
    "trained",
)
BATCH_SIZE = {"ssd": 16, "retinanet": 16, "yolo": 16}
LEARNING_RATE = {"yolo": 1e-3}


def read_results(path):
    """The rows of a results CSV (numbers as floats, empty cells as NaN), [] when there is none."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    text = ("key", "model", "backbone", "trained")
    return [{k: (v if k in text else (float(v) if v not in ("", None) else math.nan)) for k, v in row.items()}
            for row in rows]


def write_results(rows, path):
    """``rows`` to ``path`` (CSV) and the same with ``.json``, each written atomically."""
    for target, write in ((path, _write_csv), (os.path.splitext(path)[0] + ".json", _write_json)):
        def write_file(staging, write=write):
            with open(staging, "w", newline="") as handle:
                write(rows, handle)

        replace_atomically(write_file, target)


def _write_csv(rows, handle):
    writer = csv.DictWriter(handle, COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})


def _write_json(rows, handle):
    json.dump([{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()} for row in rows],
              handle, indent=1)


def checkpoint_path(directory, cell):
    """Where the trained model of ``cell`` is kept: ``directory/<model>_<backbone>_<size>.keras``."""
    return os.path.join(directory, cell.trained_key.replace("/", "_") + ".keras")


def train_cell(cell, dataset, minutes, clock="wall", verbose=0):
    """Train ``cell``'s model from scratch on ``dataset`` within ``minutes``; returns the model."""
    registered = grid.ARCHITECTURES[cell.model][0]
    spec = get_spec(registered)
    info = kzoo.data.info(dataset)
    keras.utils.set_random_seed(0)
    model = grid.build_cell(cell, info.num_classes)
    fit_model = model if spec.training_model is None else spec.training_model(model, grid.training_settings(cell))
    spec.compile(fit_model)
    size = (cell.image_size, cell.image_size)
    data = fit_dataset(spec, "train", BATCH_SIZE.get(cell.model, 8), size, shuffle=True, dataset=dataset,
                       **grid.AUGMENTATION.get(cell.model, {}))
    budget = TimeBudget(minutes * 60.0, clock=clock, base_learning_rate=LEARNING_RATE.get(cell.model, 2e-3),
                        warmup_steps=100, whole_epochs=True)
    fit_model.fit(data, epochs=10_000, callbacks=[budget], verbose=verbose)
    return model


def _latencies(model, image, formats, repeats, calibration, workdir):
    """Median ms per format; exports are written under ``workdir``."""
    fns = {}
    if "keras" in formats:
        inference = tf.function(make_inference_fn(model))
        fns["keras"] = lambda: inference(tf.constant(image))
    if "saved_model" in formats:
        predictor = load_predictor(export_saved_model(model, os.path.join(workdir, "saved_models"), "cell"))
        fns["saved_model"] = lambda: predictor.predict(image)
    for name, quantize in (("tflite_fp32", None), ("tflite_int8", "int8")):
        if name in formats:
            path = export_tflite(model, os.path.join(workdir, f"{name}.tflite"), quantize=quantize,
                                 representative_data=calibration if quantize else None)
            lite = load_predictor(path)
            fns[name] = lambda lite=lite: lite.predict(image)
    # The reference matrix product runs in the same alternation, under the same load.
    fns["matmul"] = measure.matmul_fn()
    return measure.interleaved_latency_ms(fns, repeats)


def measure_cell(cell, model, dataset, formats=FORMATS, repeats=20, scored=False, test_limit=None):
    """One row of results: costs of ``model`` and, when ``scored``, its AP on the test split."""
    image = next(kzoo.data.load(dataset, "test").as_numpy_iterator())["image"]
    image = tf.image.resize(image, (cell.image_size, cell.image_size)).numpy().round().astype(np.uint8)[None]
    calibration = None
    if "tflite_int8" in formats:
        calibration = [e["image"] for e in kzoo.data.load(dataset, "train").take(50).as_numpy_iterator()]
    inference = tf.function(make_inference_fn(model))
    row = {
        "key": cell.key, "model": cell.model, "backbone": cell.backbone, "image_size": cell.image_size,
        "proposals": math.nan if cell.proposals is None else cell.proposals,
        "parameters": measure.parameter_count(model),
        "gflops": measure.flops_per_image(model) / 1e9,
        "peak_memory_mb": measure.peak_memory_mb(lambda: np.asarray(inference(tf.constant(image))["num_detections"])),
    }
    with tempfile.TemporaryDirectory() as workdir:
        latency = _latencies(model, image, formats, repeats, calibration, workdir)
    row.update({f"{name}_ms": latency.get(name, math.nan) for name in FORMATS})
    row["matmul_gflop_s"] = measure.gflop_per_s(measure.MATMUL_FLOPS, latency["matmul"])
    for name in ("keras", "tflite_fp32"):
        row[f"{name}_gflop_s"] = measure.gflop_per_s(row["gflops"] * 1e9, row[f"{name}_ms"])
    row["AP"] = row["AP50"] = math.nan
    if scored:
        elements, predictions = predict_split(
            lambda images: {k: v.numpy() for k, v in inference(tf.constant(images)).items()}, dataset, "test",
            test_limit,
        )
        metrics = evaluate_predictions(get_spec(grid.ARCHITECTURES[cell.model][0]), elements, predictions, dataset)
        row["AP"], row["AP50"] = float(metrics["AP"]), float(metrics["AP50"])
    return row


def run_tradeoffs(
    cells, out, dataset="shapes", train_minutes=0.0, checkpoints=None, formats=FORMATS, repeats=20,
    test_limit=None, clock="wall", log=print,
):
    """Measure every cell of ``cells`` not yet in ``out`` (a CSV path); returns all rows.

    A cell whose model cannot be built (its builder's ``ValueError``: SSD and
    RetinaNet need a 'same'-padded backbone) is logged as skipped, with the
    reason, and the grid goes on; it has no row, so a rerun tries it again.

    Args:
        cells: ``grid.Cell`` list (``grid.expand_grid``).
        out: the results CSV; a JSON copy is written beside it.
        dataset: what models train on and are scored on (its ``test`` split).
        train_minutes: > 0 trains each (model, backbone, size) within this
            budget before measuring; its checkpoint goes to ``checkpoints``.
        checkpoints: directory of trained models, ``<model>_<backbone>_<size>.keras``
            (``checkpoint_path``); a cell whose checkpoint is there is scored
            with it. Default: ``checkpoints/`` beside ``out``.
        formats: a subset of ``FORMATS`` to time.
        repeats: timed calls per format.
        test_limit: score on the first N test images only.
        clock: ``"wall"`` or ``"cpu"``, how the training budget is measured.
        log: where progress goes.
    """
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown formats {sorted(unknown)}; choose from {FORMATS}")
    checkpoints = checkpoints or os.path.join(os.path.dirname(os.path.abspath(out)), "checkpoints")
    rows = read_results(out)
    done = {row["key"] for row in rows}
    todo = [cell for cell in cells if cell.key not in done]
    if len(todo) < len(cells):
        log(f"{len(cells) - len(todo)} of {len(cells)} cells already in {out}; measuring the other {len(todo)}")
    info = kzoo.data.info(dataset)
    for index, cell in enumerate(todo, 1):
        log(f"[{index}/{len(todo)}] {cell.key}")
        try:  # a configuration that cannot exist (SSD on a 'valid'-padded backbone) must not end the grid
            model = grid.build_cell(cell, info.num_classes)
        except ValueError as error:
            log(f"  skipped: {error}")
            continue
        path = checkpoint_path(checkpoints, cell)
        trained = ""
        if not os.path.exists(path) and train_minutes > 0:
            log(f"  training {cell.trained_key} for {train_minutes:g} min on {dataset}")
            os.makedirs(checkpoints, exist_ok=True)
            train_cell(cell, dataset, train_minutes, clock).save(path)
            trained = f"{train_minutes:g} min"
        scored = os.path.exists(path)
        if scored:
            model.set_weights(keras.saving.load_model(path, safe_mode=True).get_weights())
            trained = trained or "checkpoint"
        row = measure_cell(cell, model, dataset, formats, repeats, scored=scored, test_limit=test_limit)
        row["trained"] = trained
        rows.append(row)
        write_results(rows, out)
        log("  " + ", ".join(f"{k} {row[k]:.4g}" for k in ("gflops", "keras_ms", "AP") if not math.isnan(row[k])))
    return rows
