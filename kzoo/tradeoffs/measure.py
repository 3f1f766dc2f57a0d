"""What a configuration costs: parameters, FLOPs, peak memory and latency of every export format.

- FLOPs per image: TF's graph profiler over the frozen inference graph at
  batch 1 (the graph every export holds: resize, model, decoding). It
  counts multiply-adds as two operations and knows convolutions, matrix
  products and element-wise ops; NMS loops are not counted (their cost is
  data-dependent and small).
- Peak memory: how far the process's resident memory rose above where it
  stood while a callable ran (Linux: the high-water mark is reset through
  ``/proc/self/clear_refs``); NaN where the system has no such counter.
- Latency: the median over repeats of each callable, warm-up calls
  excluded, the callables called in alternation so that load from other
  processes falls on all alike.
- Achieved GFLOP/s: FLOPs per image over the latency, beside a large float32
  matrix product timed in the same alternation (``matmul_fn``), which is
  about the best this machine's TensorFlow does.
"""

import math
import statistics
import time

import numpy as np
import tensorflow as tf

from kzoo.export.inference import make_inference_fn, model_input_size


def parameter_count(model):
    """Weights of ``model`` (trainable and not)."""
    return int(model.count_params())


def function_flops(fn, input_signature):
    """Floating-point operations of one call of ``fn`` on inputs of ``input_signature`` (TF's graph profiler).

    A multiply-add counts as two operations: a 3x3 convolution of C_in to
    C_out channels costs ``2 * 9 * C_in * C_out`` per output pixel, a dense
    layer ``2 * inputs * units``, and a bias add one per output value.
    """
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    frozen = convert_variables_to_constants_v2(tf.function(fn).get_concrete_function(*input_signature))
    profiler = tf.compat.v1.profiler
    options = profiler.ProfileOptionBuilder(profiler.ProfileOptionBuilder.float_operation()).with_empty_output().build()
    with tf.Graph().as_default() as graph:
        tf.graph_util.import_graph_def(frozen.graph.as_graph_def(), name="")
        report = profiler.profile(graph=graph, run_meta=tf.compat.v1.RunMetadata(), cmd="op", options=options)
    return int(report.total_float_ops)


def flops_per_image(model):
    """Floating-point operations of one image through the model's inference graph (batch 1, uint8 in)."""
    height, width = model_input_size(model)
    predict = make_inference_fn(model)
    return function_flops(lambda images: predict(images), [tf.TensorSpec([1, height, width, 3], tf.uint8)])


def _resident_kb(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def peak_memory_mb(fn):
    """MB the resident memory rose above its level at the start while ``fn()`` ran; NaN if unknown."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # resets VmHWM, the peak resident size, to the current size
        before = _resident_kb("VmRSS")
    except OSError:
        fn()
        return math.nan
    fn()
    return max(_resident_kb("VmHWM") - before, 0) / 1024.0


def interleaved_times_ms(fns, repeats=20, warmup=3):
    """Milliseconds of every timed call of each callable in ``fns`` (name -> callable), called in alternation.

    Each round calls every callable once, so that load from other processes
    falls on all of them alike; ``warmup`` untimed calls of each come first
    (tracing, allocation). Outputs are fetched to NumPy, so asynchronous
    work is counted. Returns name -> list of ``repeats`` times.
    """
    names = list(fns)
    for name in names:
        for _ in range(warmup):
            tf.nest.map_structure(np.asarray, fns[name]())
    times = {name: [] for name in names}
    for _ in range(repeats):
        for name in names:
            start = time.perf_counter()
            tf.nest.map_structure(np.asarray, fns[name]())
            times[name].append((time.perf_counter() - start) * 1000.0)
    return times


def interleaved_latency_ms(fns, repeats=20, warmup=3):
    """Median milliseconds of each callable in ``fns`` (name -> callable), timed by ``interleaved_times_ms``."""
    return {name: statistics.median(values) for name, values in interleaved_times_ms(fns, repeats, warmup).items()}


MATMUL_SIZE = 2048


MATMUL_FLOPS = 2.0 * MATMUL_SIZE**3


def matmul_fn():
    """A callable doing one ``MATMUL_SIZE``-square float32 matrix product (``MATMUL_FLOPS``), the reference GFLOP/s."""
    a = tf.random.stateless_normal((MATMUL_SIZE, MATMUL_SIZE), seed=(1, 2))
    b = tf.random.stateless_normal((MATMUL_SIZE, MATMUL_SIZE), seed=(3, 4))
    return tf.function(lambda: tf.linalg.matmul(a, b))


def gflop_per_s(flops, milliseconds):
    """GFLOP/s of work of ``flops`` done in ``milliseconds``."""
    return flops / (milliseconds / 1000.0) / 1e9
