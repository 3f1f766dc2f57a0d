"""COCO box evaluation time: kzoo's fast evaluator against pycocotools.

Makes a COCO-sized synthetic evaluation (5,000 images of 640x480 or
480x640, 1-15 objects each over 80 classes, some crowd regions; 100
detections per image: jittered copies of the objects, mostly with the right
class, plus random boxes; scores with ties), then times, in one run:

- ``fast``: ``coco_evaluate(..., backend="fast")`` from kzoo elements;
- ``pycocotools``: ``coco_evaluate(..., backend="pycocotools")`` from the
  same elements (COCO json conversion plus ``COCOeval``), and ``COCOeval``
  alone on the already converted json;
- ``faster-coco-eval`` (if installed, the ``bench`` extra) on the same json.

It checks that all give the same 12 numbers and prints the speed ratios.

    python benchmarks/coco_eval.py [--images 5000] [--detections 100] [--classes 80]
"""

import argparse
import contextlib
import copy
import io
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from kzoo.data import coco  # noqa: E402
from kzoo.metrics import coco_evaluate  # noqa: E402
from kzoo.metrics.coco_eval import _pycocotools  # noqa: E402


def make_data(num_images, num_detections, num_classes, seed):
    rng = np.random.default_rng(seed)
    elements, predictions = [], []
    for i in range(num_images):
        height, width = (480, 640) if rng.random() < 0.7 else (640, 480)
        m = int(rng.integers(1, 16))
        size = np.exp(rng.uniform(np.log(0.02), np.log(0.8), (m, 2)))
        corner = rng.uniform(0, 1, (m, 2)) * (1 - size)
        boxes = np.concatenate([corner, corner + size], 1).astype(np.float32)
        classes = rng.integers(0, num_classes, m).astype(np.int32)
        elements.append({"height": height, "width": width, "boxes": boxes, "classes": classes,
                         "is_crowd": rng.random(m) < 0.03, "image_id": np.int64(10 * i + 7)})
        near = int(num_detections * 0.6)
        source = rng.integers(0, m, near)
        jitter = rng.normal(0, 0.08, (near, 4)) * np.tile(size[source], 2)
        det_boxes = np.concatenate([boxes[source] + jitter, _random_boxes(rng, num_detections - near)])
        wrong = rng.integers(0, num_classes, near)
        det_classes = np.concatenate([np.where(rng.random(near) < 0.8, classes[source], wrong),
                                      rng.integers(0, num_classes, num_detections - near)])
        scores = np.round(rng.random(num_detections), 3)  # rounding makes ties
        predictions.append({"detection_boxes": det_boxes.astype(np.float32),
                            "detection_scores": scores.astype(np.float32),
                            "detection_classes": det_classes.astype(np.float32),
                            "num_detections": np.int32(num_detections)})
    return elements, predictions


def _random_boxes(rng, n):
    size = np.exp(rng.uniform(np.log(0.02), np.log(0.6), (n, 2)))
    corner = rng.uniform(0, 1, (n, 2)) * (1 - size)
    return np.concatenate([corner, corner + size], 1)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def faster_coco_eval(dataset, results):
    from faster_coco_eval import COCO, COCOeval_faster

    gt = COCO(copy.deepcopy(dataset))
    dt = gt.loadRes(copy.deepcopy(results))
    evaluator = COCOeval_faster(gt, dt, "bbox", print_function=lambda *a, **k: None)
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    return np.asarray(evaluator.stats[:12])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--detections", type=int, default=100)
    parser.add_argument("--classes", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    elements, predictions = make_data(args.images, args.detections, args.classes, args.seed)
    print(f"{args.images} images, {args.detections} detections each, {args.classes} classes, "
          f"{sum(len(e['classes']) for e in elements)} ground-truth objects")
    categories = coco.default_categories(args.classes)

    fast, t_fast = timed(lambda: coco_evaluate(elements, predictions, backend="fast", categories=categories))
    ref, t_ref = timed(lambda: coco_evaluate(elements, predictions, backend="pycocotools", categories=categories))
    (dataset, results), t_json = timed(lambda: (coco.groundtruth_to_coco(elements, categories),
                                                coco.predictions_to_coco(predictions, elements, categories)))
    ref_only, t_ref_only = timed(lambda: _pycocotools(dataset, results, "bbox", None)["stats"])

    fast_v, ref_v = np.array(list(fast.values())), np.array(list(ref.values()))
    print("numbers (pycocotools):", " ".join(f"{k}={v:.4f}" for k, v in ref.items()))
    print(f"max |fast - pycocotools| over the 12 numbers: {np.abs(fast_v - ref_v).max():.3g}")
    if np.abs(np.array(list(ref_only.values())) - ref_v).max() != 0:
        raise SystemExit("pycocotools gave different numbers on the converted json")
    rows = [("kzoo fast (from elements)", t_fast), ("pycocotools (from elements)", t_ref),
            ("  of which elements -> COCO json", t_json), ("pycocotools COCOeval alone (json given)", t_ref_only)]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            other, t_other = timed(lambda: faster_coco_eval(dataset, results))
        rows.append(("faster-coco-eval (json given)", t_other))
        print(f"max |faster-coco-eval - pycocotools|: {np.abs(other - ref_v).max():.3g}")
    except ImportError:
        print("faster-coco-eval not installed (pip install faster-coco-eval): skipped")
    for name, seconds in rows:
        print(f"{name:42s} {seconds:8.2f} s")
    print(f"speed-up of kzoo fast over pycocotools: {t_ref / t_fast:.1f}x end to end, "
          f"{t_ref_only / t_fast:.1f}x against COCOeval alone")
    if len(rows) > 4:
        print(f"kzoo fast against faster-coco-eval: {t_other / t_fast:.2f}x")
    if np.abs(fast_v - ref_v).max() > 1e-6:
        raise SystemExit("fast evaluator disagrees with pycocotools")


if __name__ == "__main__":
    main()
