"""Dense prediction benchmark, segmentation part: train from scratch on ``shapes``, score on its test split.

For each of U-Net, FCN-8s, DeconvNet (max-unpooling switches, and bed of
nails) and the sliding-window segmenter:
build, train with ``model.fit`` within a time budget (default 15 minutes;
the learning rate follows a cosine over the budget), then report the test
split's mean IoU and mean Dice (background included, one confusion matrix
over the split), pixel accuracy, the training time (wall clock and process
CPU time) and the steps taken. For the sliding window it also times the
naive method (crop and classify the patch of every pixel) against the fully
convolutional form on the same images, checks that both give the same
labels, and prints the time ratio.

    python benchmarks/train_dense_segmentation.py                  # all five, 15 min each
    python benchmarks/train_dense_segmentation.py --models unet --budget 300
    python benchmarks/train_dense_segmentation.py --models deconvnet --seeds 0 1 2
    python benchmarks/train_dense_segmentation.py --clock cpu      # budget in CPU time / cores

``--clock cpu`` counts the process's CPU time divided by the cores it may
use, i.e. the wall time the run would take alone on the machine at full
parallel efficiency (optimistic by that efficiency); use it on a machine
shared with other jobs. ``run(...)`` returns the result dicts for
``benchmarks/train_dense.py``.
"""

import itertools
import os
import sys
import time

BENCHMARKS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(BENCHMARKS, ".."))
sys.path.insert(0, BENCHMARKS)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kzoo.data  # noqa: E402
from kzoo.evaluation import evaluate_model  # noqa: E402
from kzoo.models.registry import get_spec  # noqa: E402
from kzoo.models.segmentation import (  # noqa: E402
    build_patch_classifier,
    compile_segmentation,
    copy_sliding_window_weights,
    naive_sliding_window,
)
from kzoo.training.pipeline import fit_dataset  # noqa: E402
from budget import Clock, TimeBudget, budget_main, save_trained  # noqa: E402

DATASET = "shapes"
# name -> builder arguments, loss, learning rate, batch size, random horizontal flips, linear warm-up
# steps (0: none), target mean IoU (None: no target). U-Net meets its target without flips; FCN-8s and
# DeconvNet train with them.
CONFIGS = {
    "unet": dict(
        kwargs=dict(backbone="plain", filters=(8, 16, 32, 64, 128)),
        loss="cross_entropy", learning_rate=2e-3, batch_size=8, flip=False, warmup_steps=0, target=0.85,
    ),
    # On the tiny backbone (0.49M weights with the head) at 46 ms per step: about 50 epochs in 15
    # minutes. The AlexNet layout (4.4M weights, 126 ms per step, no flips) memorized the 3000
    # training scenes instead: train mean IoU 0.79 against 0.62 on the test split after 19 epochs.
    "fcn8s": dict(
        kwargs=dict(backbone="tiny", head_filters=256, dropout=0.1),
        loss="cross_entropy", learning_rate=2e-3, batch_size=8, flip=True, warmup_steps=0, target=0.75,
    ),
    # Compute-bound, so what counts is how many steps fit. About 11,000 batches of 4 (15 epochs) fit
    # in 15 minutes on an idle 2-core machine; mean IoU over seeds 0, 1 and 2: 0.806, 0.835, 0.825.
    # Earlier runs, slower per step (a busier machine, and pooling switches without TF's max pooling,
    # 108 against 93 ms per step in one comparison), fit 5,700: 0.752 (seed 0, no warm-up), 0.731
    # and 0.604, and seed 1 without warm-up stuck to the background (0.226). Batches of 8 and no
    # flips gave 0.684; the "slim" encoder, twice as fast per step, learned less per epoch (0.678 in
    # 15 epochs).
    "deconvnet": dict(
        kwargs=dict(backbone="small", unpooling="switches"),
        loss="cross_entropy", learning_rate=2e-3, batch_size=4, flip=True, warmup_steps=750, target=0.75,
    ),
    # The same DeconvNet with bed-of-nails unpooling: what the switches are worth. Seed 0: mean IoU
    # 0.679 in as many steps (10,900) as the switches' 0.806. ("builds" names the registered model
    # when the benchmark's name is not one.)
    "deconvnet_bed_of_nails": dict(
        builds="deconvnet", kwargs=dict(backbone="small", unpooling="bed_of_nails"),
        loss="cross_entropy", learning_rate=2e-3, batch_size=4, flip=True, warmup_steps=750, target=None,
    ),
    "sliding_window_segmenter": dict(
        kwargs=dict(backbone="small"),
        loss="cross_entropy", learning_rate=2e-3, batch_size=8, flip=False, warmup_steps=0, target=None,
    ),
}


def train_and_evaluate(
    name, budget_s=900, clock="wall", config=None, test_limit=None, verbose=2, seed=0, out_dir=None
):
    """Train model ``name`` from scratch on ``shapes`` within the budget; returns (model, result dict).

    With ``out_dir`` the trained model is saved as ``out_dir/<name>/best.keras`` (see ``save_trained``
    for other seeds than 0).
    """
    config = dict(CONFIGS[name], **(config or {}))
    keras.utils.set_random_seed(seed)
    spec = get_spec(config.get("builds", name))
    info = kzoo.data.info(DATASET)
    image_size = tuple(info.image_size)
    model = spec.build(num_classes=info.num_classes, input_shape=image_size + (3,), **config["kwargs"])
    compile_segmentation(model, loss=config["loss"], learning_rate=config["learning_rate"])
    train_ds = fit_dataset(
        spec, "train", config["batch_size"], image_size, shuffle=True, repeat=True, seed=seed, flip=config["flip"]
    )
    steps_per_epoch = info.splits["train"] // config["batch_size"]
    budget = TimeBudget(budget_s, clock, warmup_steps=config["warmup_steps"])
    timer = Clock()
    model.fit(train_ds, epochs=10**6, steps_per_epoch=steps_per_epoch, callbacks=[budget], verbose=verbose)
    train_wall, train_cpu = timer.wall(), timer.cpu()
    if out_dir:
        save_trained(model, out_dir, name, seed)
    scores = evaluate_model(model, DATASET, "test", limit=test_limit)
    result = {
        "model": name,
        "seed": seed,
        "mean_iou": scores["mean_iou"],
        "mean_dice": scores["mean_dice"],
        "pixel_accuracy": scores["pixel_accuracy"],
        "iou": scores["iou"],
        "target_mean_iou": config["target"],
        "train_wall_s": train_wall,
        "train_cpu_s": train_cpu,
        "steps": budget.steps,
        "epochs": budget.steps * config["batch_size"] / info.splits["train"],
        "params": model.count_params(),
        "test_images": scores["examples"],
    }
    return model, result


def sliding_window_timing(segmenter, images, backbone, repeats=3):
    """Naive (patch by patch) vs fully convolutional time on the same images, and their agreement."""
    num_classes = segmenter.output_shape[-1] - 1
    classifier = copy_sliding_window_weights(segmenter, build_patch_classifier(num_classes, backbone))
    images = np.asarray(images, np.float32)
    dense_fn = tf.function(lambda x: segmenter(x, training=False))
    dense = dense_fn(images).numpy()  # traces once
    naive = naive_sliding_window(classifier, images[:1])  # traces once
    dense_s = min(_timed(lambda: dense_fn(images).numpy()) for _ in range(repeats))
    start = time.monotonic()
    naive = naive_sliding_window(classifier, images)
    naive_s = time.monotonic() - start
    return {
        "images": len(images),
        "naive_s": naive_s,
        "fully_convolutional_s": dense_s,
        "ratio": naive_s / dense_s,
        "max_abs_logit_difference": float(np.abs(naive - dense).max()),
        "same_labels": float(np.mean(naive.argmax(-1) == dense.argmax(-1))),
    }


def _timed(fn):
    start = time.monotonic()
    fn()
    return time.monotonic() - start


def run(
    models=tuple(CONFIGS), budget_s=900, clock="wall", test_limit=None, timing_images=4, verbose=2, out_dir=None,
    seeds=(0,),
):
    """Train and score each model once per seed; returns a list of result dicts (one per run)."""
    results = []
    for name, seed in itertools.product(models, seeds):
        model, result = train_and_evaluate(
            name, budget_s, clock, test_limit=test_limit, verbose=verbose, seed=seed, out_dir=out_dir
        )
        if name == "sliding_window_segmenter":
            test = kzoo.data.load(DATASET, "test").take(timing_images)
            images = np.stack([element["image"] for element in test.as_numpy_iterator()])
            backbone = CONFIGS[name]["kwargs"]["backbone"]
            result["sliding_window"] = sliding_window_timing(model, images, backbone)
        results.append(result)
        print(format_table([result]), flush=True)
    return results


def format_table(results):
    columns = ("seed", "mIoU", "Dice", "pixacc", "target", "wall s", "cpu s", "steps", "epochs")
    widths = (4, 6, 6, 6, 6, 7, 7, 6, 6)
    header = f"{'model':26s} " + " ".join(f"{c:>{w}s}" for c, w in zip(columns, widths))
    lines = [header]
    for r in results:
        target = "-" if r["target_mean_iou"] is None else f"{r['target_mean_iou']:.2f}"
        lines.append(
            f"{r['model']:26s} {r['seed']:4d} {r['mean_iou']:6.3f} {r['mean_dice']:6.3f} {r['pixel_accuracy']:6.3f} "
            f"{target:>6s} {r['train_wall_s']:7.0f} {r['train_cpu_s']:7.0f} {r['steps']:6d} {r['epochs']:6.2f}"
        )
        if "sliding_window" in r:
            s = r["sliding_window"]
            lines.append(
                f"  sliding window on {s['images']} images: naive {s['naive_s']:.2f} s, fully convolutional "
                f"{s['fully_convolutional_s']:.3f} s, ratio {s['ratio']:.0f}x, same labels {s['same_labels']:.4f}, "
                f"max |logit difference| {s['max_abs_logit_difference']:.1e}"
            )
        lines.append("  IoU per class: " + ", ".join(f"{k} {v:.3f}" for k, v in r["iou"].items()))
    return "\n".join(lines)


def main(argv=None):
    return budget_main(__doc__, CONFIGS, run, format_table, argv, summary_key="mean_iou")


if __name__ == "__main__":
    main()
