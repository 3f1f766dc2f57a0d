"""What one more proposal costs: R-FCN's RoI-wise part against Faster R-CNN's, at test time.

R-FCN moves all learned computation before the RoIs: its head is a few 1x1
convolutions over the whole image, and per RoI only position-sensitive
pooling and a vote remain. Faster R-CNN runs its fully connected head on
every RoI. This benchmark builds each model at two proposal counts (P =
300 and 50 by default, everything else equal: ``train_detectors.py``'s
configurations, random weights), times the inference graph every export
holds (``kzoo.export.make_inference_fn``, uint8 images in, detections out)
at batch 1 on the first images of ``shapes`` test, and reports the
milliseconds per image at each count and the marginal cost of one RoI,
``(t(300) - t(50)) / 250``. All models and counts are called in
alternation on every image (``timing.alternating_median_ms``), so load from
other processes falls on all alike.

    python benchmarks/roi_cost.py
    python benchmarks/roi_cost.py --models rfcn faster_rcnn_c4 --counts 300 50 --images 20 --repeats 5
"""

import argparse
import json
import os
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
BENCHMARKS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(BENCHMARKS, ".."))
sys.path.insert(0, BENCHMARKS)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import kzoo  # noqa: E402
import kzoo.data  # noqa: E402
from kzoo.export.inference import make_inference_fn  # noqa: E402
from timing import alternating_median_ms  # noqa: E402
from train_detectors import CONFIGS  # noqa: E402

MODELS = ("rfcn", "faster_rcnn_c4", "faster_rcnn")


def build(name, num_proposals, num_classes=5, image_size=128):
    """``train_detectors.py``'s configuration of ``name`` with ``num_proposals`` at test time."""
    config = CONFIGS[name]
    kwargs = dict(config["model"])
    kwargs["rpn"] = {**kwargs.get("rpn", {}), "post_nms_top_k": num_proposals,
                     "pre_nms_top_k": max(1000, num_proposals)}
    keras.utils.set_random_seed(0)
    return kzoo.build(config.get("builds", name), num_classes=num_classes, input_shape=(image_size, image_size, 3),
                      **kwargs)


def run(models=MODELS, counts=(300, 50), num_images=10, repeats=5, dataset="shapes"):
    """Milliseconds per image of each model at each proposal count, and the marginal cost of a RoI."""
    images = [e["image"] for e in kzoo.data.load(dataset, f"test[:{num_images}]").as_numpy_iterator()]
    predictors = {(name, p): tf.function(make_inference_fn(build(name, p))) for name in models for p in counts}
    keys = list(predictors)
    times = {key: [] for key in keys}
    for index, image in enumerate(images):
        pixels = tf.constant(image[None])
        fns = [lambda key=key: predictors[key](pixels) for key in keys]
        for key, ms in zip(keys, alternating_median_ms(fns, (), repeats, warmup=3 if index == 0 else 1), strict=True):
            times[key].append(ms)
    high, low = max(counts), min(counts)
    rows = []
    for name in models:
        ms = {p: statistics.median(times[(name, p)]) for p in counts}
        rows.append({"model": name, **{f"ms_at_{p}": ms[p] for p in counts},
                     "ms_per_roi": (ms[high] - ms[low]) / (high - low), "ratio": ms[high] / ms[low]})
    return {"rows": rows, "counts": list(counts), "images": len(images), "repeats": repeats, "dataset": dataset}


def format_result(result):
    high, low = max(result["counts"]), min(result["counts"])
    header = f"{'model':<16} {f'ms at P={high}':>12} {f'ms at P={low}':>11} {'ms per RoI':>11} {f'{high} / {low}':>9}"
    lines = [f"milliseconds per image, batch 1, median over {result['images']} {result['dataset']} test images",
             header, "-" * len(header)]
    for row in result["rows"]:
        lines.append(f"{row['model']:<16} {row[f'ms_at_{high}']:>12.2f} {row[f'ms_at_{low}']:>11.2f} "
                     f"{row['ms_per_roi']:>11.4f} {row['ratio']:>9.2f}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=sorted(CONFIGS))
    parser.add_argument("--counts", nargs=2, type=int, default=[300, 50], help="two proposal counts")
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    result = run(args.models, tuple(args.counts), args.images, args.repeats)
    print(format_result(result))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1)
    return result


if __name__ == "__main__":
    main()
