"""Max pooling with switches and max unpooling against TF's own ops doing the same job.

kzoo's ``max_pool_with_argmax`` and ``max_unpooling`` are built from TFLite
builtin ops; TF has ``tf.nn.max_pool_with_argmax`` (no TFLite kernel) and
unpools with a scatter (``tf.scatter_nd``, no TFLite builtin either). On the
same inputs, in one run:

- ``pool``: pooled values and switches, forward;
- ``pool+unpool``: pool, unpool the pooled values, forward;
- ``train``: the same with the gradient with respect to the input, as one
  DeconvNet encoder/decoder level trains;
- ``bed of nails``: ``train`` with plain max pooling and bed-of-nails
  unpooling (no switches) against kzoo's ``train``: what the switches cost.

The shapes are DeconvNet's (``small`` encoder, batch 4, 128 x 128 input) at
its first and fourth pooling. Times are medians over repeats, both sides
timed in alternation; ``same`` says whether kzoo's and TF's outputs are equal
(bit for bit for the forward paths, within float rounding for gradients).

Run: ``python benchmarks/ops_unpooling.py`` (``--repeats N``).
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kzoo.ops import unpooling  # noqa: E402
from timing import alternating_median_ms  # noqa: E402

SHAPES = ((4, 128, 128, 16), (4, 16, 16, 128))


def tf_pool(x):
    # int64 switches: TF's pooling gradient has CPU kernels for no other index type.
    return tf.nn.max_pool_with_argmax(x, 2, 2, "VALID", include_batch_in_index=False)


def tf_unpool(values, argmax, output_shape):
    """Scatter every value to its per-image flat index (TF's route: ``tf.scatter_nd``)."""
    n = tf.shape(values, out_type=tf.int64)[0]
    flat = tf.reshape(argmax, [n, -1])
    batch = tf.broadcast_to(tf.range(n)[:, None], tf.shape(flat, out_type=tf.int64))
    indices = tf.stack([batch, flat], axis=-1)
    size = output_shape[1] * output_shape[2] * output_shape[3]
    out = tf.scatter_nd(tf.reshape(indices, [-1, 2]), tf.reshape(values, [-1]), tf.stack([n, size]))
    return tf.reshape(out, output_shape)


def _paths(shape):
    """name -> (kzoo function, reference function, the reference's name), each function taking the input map."""

    def train_step(pool_unpool):
        def step(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(tf.square(pool_unpool(x)))
            return tape.gradient(loss, x)

        return step

    def ours_pool_unpool(x):
        return unpooling.max_unpooling(*unpooling.max_pool_with_argmax(x, 2), 2)

    def theirs_pool_unpool(x):
        return tf_unpool(*tf_pool(x), shape)

    def bed_of_nails(x):
        return unpooling.bed_of_nails_unpooling(tf.nn.max_pool2d(x, 2, 2, "VALID"), 2)

    return {
        "pool": (lambda x: unpooling.max_pool_with_argmax(x, 2), tf_pool, "TF"),
        "pool+unpool": (ours_pool_unpool, theirs_pool_unpool, "TF"),
        "train": (train_step(ours_pool_unpool), train_step(theirs_pool_unpool), "TF"),
        "bed of nails": (train_step(bed_of_nails), train_step(ours_pool_unpool), "kzoo train"),
    }


def _same(a, b, exact):
    a, b = tf.nest.flatten(a), tf.nest.flatten(b)
    if exact:
        return all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b, strict=True))
    return all(np.allclose(np.asarray(x), np.asarray(y), atol=1e-5) for x, y in zip(a, b, strict=True))


def run(repeats=30):
    """Time every path at every shape; returns a list of result dicts."""
    results = []
    for shape in SHAPES:
        x = tf.constant(np.random.default_rng(0).normal(size=shape).astype(np.float32))
        for name, (ours, theirs, reference) in _paths(shape).items():
            ours_fn, theirs_fn = tf.function(ours), tf.function(theirs)
            same = "-" if name == "bed of nails" else _same(ours_fn(x), theirs_fn(x), exact=name != "train")
            ours_ms, theirs_ms = alternating_median_ms([ours_fn, theirs_fn], (x,), repeats)
            results.append(
                {"shape": shape, "path": name, "kzoo_ms": ours_ms, "reference": reference,
                 "reference_ms": theirs_ms, "ratio": ours_ms / theirs_ms, "same": same}
            )
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    header = f"{'shape':<18} {'path':<13} {'kzoo ms':>8} {'reference':>11} {'ms':>6} {'ratio':>6} {'same':>5}"
    print(header)
    print("-" * len(header))
    for r in run(args.repeats):
        shape = "x".join(str(d) for d in r["shape"])
        print(
            f"{shape:<18} {r['path']:<13} {r['kzoo_ms']:8.2f} {r['reference']:>11} {r['reference_ms']:6.2f} "
            f"{r['ratio']:6.2f} {str(r['same']):>5}"
        )
    print("ratio = kzoo time / reference time; TF = tf.nn.max_pool_with_argmax and tf.scatter_nd (no TFLite builtins)")


if __name__ == "__main__":
    main()
