"""COCO box evaluation time: kzoo's fast evaluator against pycocotools (and faster-coco-eval).

Makes a COCO-sized synthetic evaluation (5,000 images of 640x480 or
480x640, 1-15 objects each over 80 classes, some crowd regions; 100
detections per image: jittered copies of the objects, mostly with the right
class, plus random boxes; scores with ties), then times two kinds of work,
each side doing the same:

- end to end, from kzoo elements and prediction dicts to the 12 numbers:
  ``coco_evaluate(..., backend="fast")``, ``coco_evaluate(...,
  backend="pycocotools")`` (COCO json conversion, ``COCO`` objects,
  ``COCOeval``), and faster-coco-eval from the same elements (conversion,
  its ``COCO`` objects, ``COCOeval_faster``);
- evaluation alone, on ``COCO`` objects built (and result lists copied)
  before the clock starts: pycocotools' ``COCOeval`` against
  faster-coco-eval's ``COCOeval_faster`` (evaluate, accumulate, summarize).

Every side runs once per round, in alternation, for ``--repeats`` rounds
(median, min and max; ratios of medians). The run checks that all give the
same 12 numbers. faster-coco-eval is optional (the ``bench`` extra).

    python benchmarks/coco_eval.py [--images 5000] [--detections 100] [--classes 80] [--repeats 3]
"""

import argparse
import contextlib
import copy
import io
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from kzoo.data import coco  # noqa: E402
from kzoo.metrics import coco_evaluate  # noqa: E402


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


def _quietly(fn):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn()


def _coco_objects(module, dataset, results):
    """``module``'s (pycocotools or faster_coco_eval) ground-truth and result ``COCO`` objects."""
    gt = module.COCO()
    gt.dataset = copy.deepcopy(dataset)
    gt.createIndex()
    return gt, gt.loadRes(copy.deepcopy(results))


def _summarize(evaluator):
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    return np.asarray(evaluator.stats[:12])


def _sides(elements, predictions, categories):
    """name -> (prepare, evaluate): ``prepare()`` runs untimed and its result goes to ``evaluate``."""
    from pycocotools import coco as pycoco
    from pycocotools.cocoeval import COCOeval

    dataset = coco.groundtruth_to_coco(elements, categories)
    results = coco.predictions_to_coco(predictions, elements, categories)
    sides = {
        "kzoo fast, end to end": (lambda: None, lambda _: np.array(list(
            coco_evaluate(elements, predictions, backend="fast", categories=categories).values()))),
        "pycocotools, end to end": (lambda: None, lambda _: np.array(list(
            coco_evaluate(elements, predictions, backend="pycocotools", categories=categories).values()))),
        "pycocotools COCOeval alone": (
            lambda: _coco_objects(pycoco, dataset, results),
            lambda objects: _summarize(COCOeval(*objects, "bbox")),
        ),
    }
    try:
        import faster_coco_eval
        from faster_coco_eval import COCOeval_faster
    except ImportError:
        print("faster-coco-eval not installed (pip install faster-coco-eval): skipped")
        return sides

    def faster_end_to_end(_):
        objects = _coco_objects(faster_coco_eval, coco.groundtruth_to_coco(elements, categories),
                                coco.predictions_to_coco(predictions, elements, categories))
        return _summarize(COCOeval_faster(*objects, "bbox", print_function=lambda *a, **k: None))

    sides["faster-coco-eval, end to end"] = (lambda: None, faster_end_to_end)
    sides["faster-coco-eval COCOeval alone"] = (
        lambda: _coco_objects(faster_coco_eval, dataset, results),
        lambda objects: _summarize(COCOeval_faster(*objects, "bbox", print_function=lambda *a, **k: None)),
    )
    return sides


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--detections", type=int, default=100)
    parser.add_argument("--classes", type=int, default=80)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    elements, predictions = make_data(args.images, args.detections, args.classes, args.seed)
    print(f"{args.images} images, {args.detections} detections each, {args.classes} classes, "
          f"{sum(len(e['classes']) for e in elements)} ground-truth objects; {args.repeats} rounds in alternation")
    sides = _sides(elements, predictions, coco.default_categories(args.classes))
    times = {name: [] for name in sides}
    numbers = {}
    for _ in range(args.repeats):
        for name, (prepare, evaluate) in sides.items():
            prepared = _quietly(prepare)
            numbers[name], seconds = _quietly(lambda: timed(lambda: evaluate(prepared)))
            times[name].append(seconds)
    reference = numbers["pycocotools, end to end"]
    for name, values in numbers.items():
        print(f"max |{name} - pycocotools| over the 12 numbers: {np.abs(values - reference).max():.3g}")
    median = {name: statistics.median(t) for name, t in times.items()}
    print(f"{'':34s} {'median s':>9} {'min':>7} {'max':>7}")
    for name, t in times.items():
        print(f"{name:34s} {median[name]:>9.2f} {min(t):>7.2f} {max(t):>7.2f}")
    fast = median["kzoo fast, end to end"]
    print(f"kzoo fast against pycocotools, end to end: {median['pycocotools, end to end'] / fast:.1f}x")
    if "faster-coco-eval, end to end" in median:
        print(f"kzoo fast against faster-coco-eval, end to end: {median['faster-coco-eval, end to end'] / fast:.2f}x")
        print(f"faster-coco-eval against pycocotools, COCOeval alone: "
              f"{median['pycocotools COCOeval alone'] / median['faster-coco-eval COCOeval alone']:.1f}x")
    if np.abs(numbers["kzoo fast, end to end"] - reference).max() > 1e-6:
        raise SystemExit("fast evaluator disagrees with pycocotools")


if __name__ == "__main__":
    main()
