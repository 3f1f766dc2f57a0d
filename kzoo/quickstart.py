"""``kzoo quickstart``: the whole life of a model in one command.

Trains the classifier on single Fashion-MNIST garments, evaluates it on the
test split, exports it as a SavedModel (TF Serving) and a TFLite file,
predicts test images with both exports, and writes a picture of the results.
"""

import os
import time

import numpy as np

import kzoo.data
from kzoo.evaluation import evaluate_model, write_report
from kzoo.export import export_saved_model, export_tflite, load_predictor
from kzoo.export.predict_images import summarize
from kzoo.models.classification import compile_classifier
from kzoo.training import train
from kzoo.viz import save_grid, show_prediction

DATASET = "fashion_scenes/single"


def _step(message):
    print(f"\n== {message}", flush=True)


def run_quickstart(out_dir="kzoo_quickstart", epochs=4, saved_models_dir="saved_models", batch_size=64):
    """Run every stage; returns a dict of the figures it measured and the files it wrote."""
    start = time.time()
    info = kzoo.data.info(DATASET)

    _step(f"1/4 train the classifier on {DATASET} ({epochs} epochs, checkpoints in {out_dir}/train)")
    model, history = train(
        "classifier",
        os.path.join(out_dir, "train"),
        compile_fn=compile_classifier,
        model_kwargs={"backbone": "tiny", "input_shape": tuple(info.image_size) + (3,)},
        epochs=epochs,
        batch_size=batch_size,
        dataset=DATASET,
        verbose=2,
    )

    _step("2/4 evaluate on the test split")
    results = evaluate_model(model, dataset=DATASET, split="test")
    print(write_report(results, os.path.join(out_dir, "evaluation")))

    _step(f"3/4 export: SavedModel under {saved_models_dir}/, TFLite in {out_dir}/")
    saved_model = export_saved_model(model, saved_models_dir, "classifier", class_names=info.class_names)
    tflite = export_tflite(model, os.path.join(out_dir, "classifier.tflite"), class_names=info.class_names)
    print(f"SavedModel: {saved_model}\nTFLite:     {tflite}")

    _step("4/4 predict test images with the exports")
    samples = list(kzoo.data.load(DATASET, split="test").take(8).as_numpy_iterator())
    images = np.stack([sample["image"] for sample in samples])
    served = load_predictor(saved_model).predict(images)
    lite = load_predictor(tflite).predict(images)
    agree = float(np.mean(served["classes"] == lite["classes"]))
    for i, sample in enumerate(samples):
        truth = info.class_names[int(sample["classes"][0])]
        one = {key: value[i] for key, value in served.items()}
        print(f"  image {i}: truth {truth:12s} SavedModel says {summarize(one, info.class_names)}")
    picture = save_grid(
        [
            (lambda ax, i=i: show_prediction(ax, images[i], {k: v[i] for k, v in served.items()}, info.class_names))
            for i in range(len(images))
        ],
        os.path.join(out_dir, "predictions.png"),
    )
    seconds = time.time() - start
    print(f"\nSavedModel and TFLite agree on {agree:.0%} of the pictures' classes.")
    print(f"Picture of the predictions: {picture}")
    print(f"Quickstart finished in {seconds:.0f} s; test accuracy {results['accuracy']:.3f}.")
    return {"seconds": seconds, "results": results, "saved_model": saved_model, "tflite": tflite, "picture": picture}
