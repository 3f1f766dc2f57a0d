"""RoIAlign speed against tf.image.crop_and_resize doing the same sampling.

Both sides do the same job on the same inputs in one run: 512 boxes on one
64 x 64 x 256 feature map (stride 16 of a 1024-pixel image; boxes from 32 to
about 600 image pixels), 7 x 7 bins. ``crop_and_resize`` gets boxes converted
to its corner-aligned grid so that it samples exactly where RoIAlign does:

- ``s=1``: RoIAlign with ``sampling_ratio=1`` against ``crop_and_resize`` to
  7 x 7 (one bilinear sample per bin on both sides);
- ``s=2``: RoIAlign with ``sampling_ratio=2`` against ``crop_and_resize`` to
  14 x 14 followed by 2 x 2 average pooling (how TF implementations of
  Mask R-CNN build RoIAlign);
- ``s=2 grad``: forward and backward (gradient with respect to the map);
- ``s=2 xla``: kzoo under ``jit_compile=True`` (``CropAndResize`` has no XLA
  kernel on CPU, so the reference stays a plain graph);
- ``tflite s=2``: the converted RoIAlign (builtin ops) in the LiteRT
  interpreter; TFLite has no ``crop_and_resize``;
- ``roi_pool``: Fast R-CNN RoI max pooling, which TF has no op for.

Every path is a ``tf.function``; times are medians over repeats after warm-up,
with the two sides timed in alternation so that load from other processes
falls on both alike. ``max_diff`` is the largest absolute difference between
the two outputs (float32 rounding only).

Run: ``python benchmarks/ops_roi.py`` (``--repeats N``).
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kzoo.ops import roi_pooling, roi_sampling  # noqa: E402
from timing import alternating_median_ms  # noqa: E402

NUM_BOXES, OUTPUT, CHANNELS, MAP_SIZE = 512, 7, 256, 64


def make_inputs(seed=0):
    """A feature map and [1, R, 4] proposals inside the image."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(1, MAP_SIZE, MAP_SIZE, CHANNELS)).astype(np.float32)
    size = np.exp(rng.uniform(np.log(32 / 1024), np.log(0.6), size=(NUM_BOXES, 2)))
    corner = rng.uniform(0.01, 0.99 - size)
    boxes = np.concatenate([corner, corner + size], axis=-1)[None].astype(np.float32)
    return tf.constant(features), tf.constant(boxes)


def crop_and_resize_boxes(boxes, height, width, grid):
    """Boxes whose corner-aligned ``grid`` hits RoIAlign's (aligned) sample centers."""
    y1, x1, y2, x2 = np.moveaxis(np.asarray(boxes, np.float64), -1, 0)

    def axis(lo, hi, n):
        step = (hi - lo) * n / grid
        first = lo * n - 0.5 + 0.5 * step
        return first / (n - 1), (first + (grid - 1) * step) / (n - 1)

    ny1, ny2 = axis(y1, y2, height)
    nx1, nx2 = axis(x1, x2, width)
    return tf.constant(np.stack([ny1, nx1, ny2, nx2], axis=-1).reshape(-1, 4), tf.float32)


def _row(path, ours_ms, theirs_ms, diff):
    return {
        "path": path,
        "boxes": NUM_BOXES,
        "output": OUTPUT,
        "channels": CHANNELS,
        "kzoo_ms": ours_ms,
        "tf_crop_and_resize_ms": theirs_ms,
        "ratio": ours_ms / theirs_ms if theirs_ms == theirs_ms else float("nan"),
        "max_diff": diff,
    }


def run(repeats=15):
    """Time every path; returns a list of result dicts, one per path."""
    features, boxes = make_inputs()
    box_indices = tf.zeros([NUM_BOXES], tf.int32)
    results = []
    for s in (1, 2):
        grid = OUTPUT * s
        cr_boxes = crop_and_resize_boxes(boxes[0], MAP_SIZE, MAP_SIZE, grid)

        def ours(f, b, s=s):
            return roi_sampling.roi_align(f, b, OUTPUT, sampling_ratio=s)[0]

        def theirs(f, b, s=s, cr_boxes=cr_boxes, grid=grid):
            crops = tf.image.crop_and_resize(f, cr_boxes, box_indices, (grid, grid))
            return tf.nn.avg_pool2d(crops, s, s, "VALID") if s > 1 else crops

        ours_fn, theirs_fn = tf.function(ours), tf.function(theirs)
        diff = float(np.max(np.abs(ours_fn(features, boxes).numpy() - theirs_fn(features, boxes).numpy())))
        results.append(_row(f"s={s}", *alternating_median_ms([ours_fn, theirs_fn], (features, boxes), repeats), diff))

    weights = tf.constant(np.random.default_rng(1).normal(size=(NUM_BOXES, OUTPUT, OUTPUT, CHANNELS)), tf.float32)

    def grad_of(fn):
        def step(f, b):
            with tf.GradientTape() as tape:
                tape.watch(f)
                loss = tf.reduce_sum(fn(f, b) * weights)
            return tape.gradient(loss, f)

        return tf.function(step)

    ours_grad, theirs_grad = grad_of(ours), grad_of(theirs)
    diff = float(np.max(np.abs(ours_grad(features, boxes).numpy() - theirs_grad(features, boxes).numpy())))
    results.append(_row("s=2 grad", *alternating_median_ms([ours_grad, theirs_grad], (features, boxes), repeats), diff))

    ours_xla = tf.function(ours, jit_compile=True)
    diff = float(np.max(np.abs(ours_xla(features, boxes).numpy() - theirs_fn(features, boxes).numpy())))
    results.append(_row("s=2 xla", *alternating_median_ms([ours_xla, theirs_fn], (features, boxes), repeats), diff))

    results.append(_tflite_row(ours, theirs_fn, features, boxes, repeats))

    pool = tf.function(lambda f, b: roi_pooling.roi_pool(f, b, OUTPUT))
    (pool_ms,) = alternating_median_ms([pool], (features, boxes), repeats)
    results.append(_row("roi_pool", pool_ms, float("nan"), float("nan")))
    return results


def _tflite_row(ours, theirs_fn, features, boxes, repeats):
    from ai_edge_litert.interpreter import Interpreter

    from kzoo.export.tflite_convert import convert_callable

    specs = [tf.TensorSpec(features.shape, tf.float32), tf.TensorSpec(boxes.shape, tf.float32)]
    def roi_align_s2(feature_map, proposals):
        return ours(feature_map, proposals)

    lite = convert_callable(roi_align_s2, specs)
    runner = Interpreter(model_content=lite).get_signature_runner()
    feed = {"feature_map": features.numpy(), "proposals": boxes.numpy()}

    def lite_fn():
        return next(iter(runner(**feed).values()))

    lite_ms, theirs_ms = alternating_median_ms([lambda f, b: lite_fn(), theirs_fn], (features, boxes), repeats)
    diff = float(np.max(np.abs(lite_fn() - theirs_fn(features, boxes).numpy())))
    return _row("tflite s=2", lite_ms, theirs_ms, diff)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    results = run(repeats=args.repeats)
    header = (
        f"{'path':<11} {'boxes':>5} {'out':>4} {'ch':>4} {'kzoo ms':>9} "
        f"{'crop_and_resize ms':>19} {'ratio':>6} {'max_diff':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['path']:<11} {r['boxes']:>5} {r['output']:>4} {r['channels']:>4} {r['kzoo_ms']:>9.2f} "
            f"{r['tf_crop_and_resize_ms']:>19.2f} {r['ratio']:>6.2f} {r['max_diff']:>9.2e}"
        )
    print("ratio = kzoo time / crop_and_resize time (lower is better for kzoo)")


if __name__ == "__main__":
    main()
