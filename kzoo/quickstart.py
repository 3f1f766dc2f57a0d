"""``kzoo quickstart``: the zoo's main job in one command, in about five minutes on two CPU cores.

Trains an SSD detector on the built-in ``shapes`` scenes within a few
minutes, scores it with COCO AP on the test split, exports it as a
SavedModel (TF Serving) and a TFLite file, predicts test images with both
exports, and draws the truth above what each export found.
"""

import os
import time

import numpy as np

import kzoo.data
from kzoo.evaluation import evaluate_model, write_report
from kzoo.export import export_saved_model, export_tflite, load_predictor
from kzoo.training import train
from kzoo.training.budget import TimeBudget
from kzoo.viz import save_grid, show_element, show_prediction

DATASET = "shapes"
MODEL = "ssd"
# The small SSD of the training benchmarks: a tiny backbone and 128 extra-layer channels at 128 x 128.
MODEL_KWARGS = {"backbone": "tiny", "extra_channels": 128}
LEARNING_RATE = 2e-3
SCORE_THRESHOLD = 0.3


def _step(message):
    print(f"\n== {message}", flush=True)


def _predictions_picture(samples, outputs, class_names, path):
    """The truth in the first row, then one row per export's detections."""
    rows = [[lambda ax, s=s: show_element(ax, s, class_names, title="truth") for s in samples]]
    for source, output in outputs.items():
        rows.append([
            lambda ax, i=i, s=s, source=source, output=output: show_prediction(
                ax, s["image"], {k: v[i] for k, v in output.items()}, class_names,
                score_threshold=SCORE_THRESHOLD, source=source)
            for i, s in enumerate(samples)
        ])
    return save_grid([fn for row in rows for fn in row], path, columns=len(samples))


def run_quickstart(out_dir="kzoo_quickstart", minutes=3.0, saved_models_dir="saved_models", dataset=DATASET,
                   batch_size=16, test_limit=None):
    """Run every stage; returns a dict of the figures it measured and the files it wrote.

    Args:
        out_dir: checkpoints, the evaluation, the TFLite file and the pictures go here.
        minutes: the training budget, by the wall clock (a cosine learning
            rate decays over it; the checkpoint is kept after every epoch).
        saved_models_dir: the SavedModel is written as ``<dir>/shapes_ssd/<version>``.
        dataset: a detection dataset (``shapes``; ``shapes/tiny`` for a smoke run).
        batch_size: training batch.
        test_limit: evaluate on the first N test images only.
    """
    start = time.time()
    info = kzoo.data.info(dataset)
    image_size = tuple(info.image_size)

    _step(f"1/4 train SSD on {dataset} for {minutes:g} minutes (checkpoints in {out_dir}/train)")
    budget = TimeBudget(minutes * 60.0, base_learning_rate=LEARNING_RATE, warmup_steps=100, whole_epochs=True)
    model, _ = train(
        MODEL, os.path.join(out_dir, "train"), model_kwargs={**MODEL_KWARGS, "input_shape": image_size + (3,)},
        epochs=1000, batch_size=batch_size, dataset=dataset, validation_steps=4, verbose=2, callbacks=[budget],
    )
    print(f"trained {budget.steps} steps ({budget.epochs} epochs)")

    _step("2/4 evaluate on the test split (COCO AP, scored as pycocotools does)")
    results = evaluate_model(model, dataset=dataset, split="test", limit=test_limit)
    print(write_report(results, os.path.join(out_dir, "evaluation")))

    _step(f"3/4 export: a SavedModel under {saved_models_dir}/, a TFLite file in {out_dir}/")
    saved_model = export_saved_model(model, saved_models_dir, "shapes_ssd", class_names=info.class_names)
    tflite = export_tflite(model, os.path.join(out_dir, "shapes_ssd.tflite"), class_names=info.class_names)
    print(f"SavedModel: {saved_model}\nTFLite:     {tflite}")

    _step("4/4 predict test images with both exports")
    samples = list(kzoo.data.load(dataset, split="test").take(6).as_numpy_iterator())
    images = np.stack([sample["image"] for sample in samples])
    outputs = {"SavedModel": load_predictor(saved_model).predict(images),
               "TFLite": load_predictor(tflite).predict(images)}
    found = {source: int(np.sum(out["detection_scores"] >= SCORE_THRESHOLD)) for source, out in outputs.items()}
    truth = sum(int(np.sum(sample["classes"] >= 0)) for sample in samples)
    picture = _predictions_picture(samples, outputs, info.class_names, os.path.join(out_dir, "predictions.png"))
    seconds = time.time() - start
    print(f"\n{len(samples)} test images hold {truth} objects; with scores >= {SCORE_THRESHOLD}, the SavedModel "
          f"finds {found['SavedModel']} and the TFLite file {found['TFLite']}.")
    print(f"Picture of the truth and both exports' detections: {picture}")
    print(f"Quickstart finished in {seconds:.0f} s; test AP {results['AP']:.3f}, AP50 {results['AP50']:.3f}.")
    return {"seconds": seconds, "results": results, "saved_model": saved_model, "tflite": tflite, "picture": picture}
