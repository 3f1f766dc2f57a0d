"""Is the input pipeline ever the bottleneck? Batches per second of each family's training pipeline
against the batches per second its train step consumes.

For one model per task family, on its built-in dataset at the benchmark
settings (tiny backbone, the training benchmarks' batch sizes and
augmentation): the ``fit_dataset`` pipeline (read, decode, augment, encode
targets, batch, prefetch) is drained for ``--batches`` batches after a
warm-up, and the model's train step (``train_on_batch`` on one prepared
batch) is timed over the same count; the two are interleaved in rounds so
that the machine's load falls on both alike. The ratio is pipeline rate
over step rate (goal: >= 3). Both run on the same cores in turn, so the
ratio is what the pipeline could deliver while the step waits, an upper
bound when they share a CPU.

    python benchmarks/input_pipeline.py
    python benchmarks/input_pipeline.py --families detection instance --batches 20 --json runs/pipeline.json
"""

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
BENCHMARKS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(BENCHMARKS, ".."))

import keras  # noqa: E402

import kzoo  # noqa: E402
import kzoo.data  # noqa: E402
from kzoo.models.registry import get_spec  # noqa: E402
from kzoo.training.pipeline import fit_dataset  # noqa: E402

# family -> (model, dataset, builder arguments, batch size, fit_dataset augmentation, training settings)
FAMILIES = {
    "classification": ("classifier", "fashion_scenes/single", {}, 64, {}, None),
    "segmentation": ("unet", "shapes", {}, 16, dict(flip=True), None),
    "localization": ("classify_localize", "fashion_scenes/single", {}, 64, {}, None),
    "pose": ("deeppose", "stick_figures/single", {}, 32, dict(flip=True), None),
    "detection": ("retinanet", "shapes", dict(num_channels=64, num_convs=2), 16, dict(flip=True, zoom_in=0.7), None),
    "yolo": ("yolo", "shapes", dict(head_channels=128, hidden_units=512), 16,
             dict(flip=True, zoom_in=0.7, color_jitter=1.5), None),
    "region": ("faster_rcnn", "shapes", dict(fpn_channels=64, rpn={"num_channels": 64}), 8, {},
               dict(rpn_post_nms_top_k=300, roi_num_samples=64)),
    "instance": ("mask_rcnn", "shapes", dict(fpn_channels=64, rpn={"num_channels": 64}, mask_head={"channels": 64}),
                 8, {}, dict(rpn_post_nms_top_k=300, roi_num_samples=64)),
    "keypoints": ("keypoint_rcnn", "stick_figures",
                  dict(fpn_channels=64, rpn={"num_channels": 64}, keypoint_head={"channels": 64}), 8, dict(flip=True),
                  dict(rpn_post_nms_top_k=300, roi_num_samples=32)),
}


def _split(batch):
    """(x, y) of a pipeline batch; y is None for training graphs that take everything as inputs."""
    if isinstance(batch, tuple) and len(batch) == 2:
        return batch
    return (batch[0] if isinstance(batch, tuple) else batch), None


def measure(family, batches=30, rounds=3):
    """Pipeline and step rates (batches/s, medians over rounds) of one family; returns a result dict."""
    name, dataset, kwargs, batch_size, augment, settings = FAMILIES[family]
    spec = get_spec(name)
    info = kzoo.data.info(dataset)
    image_size = tuple(info.image_size)
    keras.utils.set_random_seed(0)
    model = kzoo.build(name, num_classes=info.num_classes, backbone="tiny", input_shape=image_size + (3,), **kwargs)
    fit_model = model if spec.training_model is None else spec.training_model(model, settings)
    spec.compile(fit_model)
    data = fit_dataset(spec, "train", batch_size, image_size, shuffle=True, repeat=True, dataset=dataset, **augment)
    iterator = iter(data)
    x, y = _split(next(iterator))
    for _ in range(3):  # warm-up: tracing, the pipeline's first buffers
        fit_model.train_on_batch(x, y)
        next(iterator)
    pipeline, step = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(batches):
            next(iterator)
        pipeline.append(batches / (time.perf_counter() - start))
        start = time.perf_counter()
        for _ in range(batches):
            fit_model.train_on_batch(x, y)
        step.append(batches / (time.perf_counter() - start))
    result = {"family": family, "model": name, "dataset": dataset, "batch_size": batch_size,
              "pipeline_batches_per_s": statistics.median(pipeline), "step_batches_per_s": statistics.median(step)}
    result["ratio"] = result["pipeline_batches_per_s"] / result["step_batches_per_s"]
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--batches", type=int, default=30, help="batches per round, for each side")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    results = []
    print(f"{'family':<15} {'model':<18} {'batch':>5} {'pipeline b/s':>12} {'step b/s':>9} {'ratio':>6}")
    for family in args.families:
        r = measure(family, args.batches, args.rounds)
        results.append(r)
        print(f"{family:<15} {r['model']:<18} {r['batch_size']:>5} {r['pipeline_batches_per_s']:>12.1f} "
              f"{r['step_batches_per_s']:>9.1f} {r['ratio']:>6.1f}", flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
    return results


if __name__ == "__main__":
    main()
