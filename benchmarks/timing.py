"""The timing loop the op benchmarks share."""

import statistics
import time

import numpy as np
import tensorflow as tf


def alternating_median_ms(fns, args, repeats, warmup=3):
    """Median wall time in milliseconds of each ``fn(*args)``, outputs fetched to NumPy.

    The callables run in alternation, one call of each per round, so that load from other
    processes falls on all of them alike; ``warmup`` untimed calls of each come first (tracing).
    """
    for fn in fns:
        for _ in range(warmup):
            tf.nest.map_structure(np.asarray, fn(*args))
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, bucket in zip(fns, times, strict=True):
            start = time.perf_counter()
            tf.nest.map_structure(np.asarray, fn(*args))
            bucket.append((time.perf_counter() - start) * 1000.0)
    return [statistics.median(t) for t in times]
