"""Exported artifacts of each model family: latency, size and the int8 metric drop, in one run.

For each model: Keras predict (decoding included), the SavedModel's
``serving_default``, and TFLite float32, float16 and int8 in the LiteRT
interpreter, all at batch 1 on the same image, each called once per round
in alternation over ``--repeats`` rounds (median, min and max), so that the
machine's load falls on all alike; the size of each artifact; and the task
metric of the float32 and int8 TFLite files on the test split (the int8 drop).

A trained checkpoint ``runs/<model>/best.keras`` is used when present
(``--runs DIR``); otherwise the model is trained for ``--epochs`` on its
dataset first, so that the metric drop means something.

Run: ``python benchmarks/export.py [--models classifier unet ...] [--limit 200]``.
"""

import argparse
import os
import statistics
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kzoo  # noqa: E402
import kzoo.data  # noqa: E402
from kzoo.evaluation import evaluate_predictions, predict_split  # noqa: E402
from kzoo.export import export_saved_model, export_tflite, load_predictor, make_inference_fn  # noqa: E402
from kzoo.export.labels import representative_images  # noqa: E402
from kzoo.models.registry import get_spec  # noqa: E402
from kzoo.training import train  # noqa: E402
from kzoo.tradeoffs.measure import interleaved_times_ms  # noqa: E402

# The metric reported per task (a key of the evaluator's result).
HEADLINE = {
    "classification": "accuracy",
    "segmentation": "mean_iou",
    "classification_localization": "accuracy",
    "pose": "pck@0.2",
    "detection": "AP",
    "instance_segmentation": "mask_AP",
    "keypoint_detection": "keypoint_AP",
}


def _size_mb(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs) / 2**20
    return os.path.getsize(path) / 2**20


def _model(name, runs, epochs):
    checkpoint = os.path.join(runs, name, "best.keras")
    if os.path.exists(checkpoint):
        return keras.saving.load_model(checkpoint, safe_mode=True), "checkpoint"
    spec = get_spec(name)
    info = kzoo.data.info(spec.dataset)
    model, _ = train(name, os.path.join(runs, name), epochs=epochs,
                     model_kwargs={"backbone": "tiny", "input_shape": tuple(info.image_size) + (3,)}, verbose=2)
    return model, f"trained {epochs} epochs"


def _headline(results, task):
    value = results.get(HEADLINE.get(task))
    return float(value) if isinstance(value, (int, float, np.floating)) else float("nan")


def bench_model(name, runs, epochs, repeats, limit, workdir):
    spec = get_spec(name)
    model, origin = _model(name, runs, epochs)
    image = next(kzoo.data.load(spec.dataset, "test").as_numpy_iterator())["image"][None]
    inference = tf.function(make_inference_fn(model))
    calls, paths, predictors = {"keras": lambda: inference(tf.constant(image))}, {"keras": None}, {}
    paths["saved_model"] = export_saved_model(model, os.path.join(workdir, "saved_models"), name)
    calibration = representative_images(model, count=100)
    for quantize in (None, "float16", "int8"):
        kind = quantize or "float32"
        path = paths[f"tflite {kind}"] = os.path.join(workdir, f"{name}_{kind}.tflite")
        export_tflite(model, path, quantize=quantize, representative_data=calibration if quantize == "int8" else None)
    for artifact, path in paths.items():
        if path is not None:
            predictors[artifact] = load_predictor(path)
            calls[artifact] = lambda predictor=predictors[artifact]: predictor.predict(image)
    times = interleaved_times_ms(calls, repeats)
    rows = []
    for artifact, path in paths.items():
        row = {"artifact": artifact, "ms": statistics.median(times[artifact]), "min_ms": min(times[artifact]),
               "max_ms": max(times[artifact]), "mb": _size_mb(path) if path else float("nan")}
        if artifact in ("tflite float32", "tflite int8"):
            elements, predictions = predict_split(predictors[artifact].predict, spec.dataset, "test", limit)
            row["metric"] = _headline(evaluate_predictions(spec, elements, predictions), spec.task)
        rows.append(row)
    return {"model": name, "origin": origin, "metric_name": HEADLINE.get(spec.task), "rows": rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=kzoo.list_models())
    parser.add_argument("--runs", default="runs")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--limit", type=int, default=300, help="test examples for the metric")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.models:
            result = bench_model(name, args.runs, args.epochs, args.repeats, args.limit, workdir)
            print(f"\n{name} ({result['origin']}); metric: {result['metric_name']} on {args.limit} test images")
            print(f"{'artifact':<16} {'ms/image':>9} {'min':>7} {'max':>7} {'MB':>8} {'metric':>8}")
            for row in result["rows"]:
                metric = row.get("metric", float("nan"))
                print(f"{row['artifact']:<16} {row['ms']:>9.2f} {row['min_ms']:>7.2f} {row['max_ms']:>7.2f} "
                      f"{row['mb']:>8.2f} {metric:>8.3f}")
            fp32 = next(r["metric"] for r in result["rows"] if r["artifact"] == "tflite float32")
            int8 = next(r["metric"] for r in result["rows"] if r["artifact"] == "tflite int8")
            print(f"int8 drop: {fp32 - int8:+.3f}")


if __name__ == "__main__":
    main()
