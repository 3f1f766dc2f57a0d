"""Detector inference latency: kzoo RetinaNet against KerasHub's, and the sliding window's cost.

Part 1, in one run on the same machine: RetinaNet, ResNet-50 FPN (P3-P7, 256
channels, 4-conv subnets, 9 anchors), 640x640, batch 1, 80 classes, random
weights, end to end with box decoding and NMS (100 detections):

- ``kzoo``: the inference graph every kzoo export holds
  (``make_inference_fn``: uint8 image, model, ``DetectionDecoder``) as a
  ``tf.function``; with ``--saved-model``, also the exported SavedModel's
  ``serving_default`` reloaded;
- ``keras_hub``: ``keras_hub.models.RetinaNetObjectDetector`` on a
  ``ResNetBackbone`` with ResNet-50's configuration (built without presets,
  nothing downloaded), its ``call`` plus ``decode_predictions`` (decoding and
  its ``NonMaxSuppression``) as a ``tf.function``.

The two are timed in alternation (median of ``--repeats``). Achieved
GFLOP/s: the model's forward FLOPs (TF profiler on the graph) over its
latency, against a 2048 x 2048 float32 matmul timed in the same run.

Part 2, the sliding-window detector's cost against the number of pyramid
scales and the image size (windows classified and latency per image), next
to RetinaNet at the same sizes.

    python benchmarks/latency.py [--repeats 10] [--saved-model] [--skip-sliding-window]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kzoo  # noqa: E402
from kzoo.export.inference import make_inference_fn  # noqa: E402
from kzoo.models.detection import sliding_window  # noqa: E402

SIZE, NUM_CLASSES = 640, 80


def graph_flops(fn, spec):
    """Floating-point operations of one call of a ``tf.function`` (TF profiler, multiply-adds count 2)."""
    from tensorflow.python.profiler import model_analyzer, option_builder

    graph = fn.get_concrete_function(spec).graph
    options = option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation())
    options = options.with_empty_output().build()
    return model_analyzer.profile(graph, options=options).total_float_ops


def timed(fn, x, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn(x)
        tf.nest.map_structure(lambda t: t.numpy(), out)
        times.append(time.perf_counter() - start)
    return times


def matmul_gflops(n=2048, repeats=10):
    a = tf.random.normal([n, n])
    b = tf.random.normal([n, n])
    matmul = tf.function(lambda x: tf.matmul(x, b))
    matmul(a).numpy()
    return 2 * n**3 / statistics.median(timed(matmul, a, repeats)) / 1e9


def keras_hub_retinanet():
    import keras_hub

    encoder = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[7],
        stackwise_num_filters=[64, 128, 256, 512],
        stackwise_num_blocks=[3, 4, 6, 3],
        stackwise_num_strides=[1, 2, 2, 2],
        block_type="bottleneck_block",
        image_shape=(SIZE, SIZE, 3),
    )
    backbone = keras_hub.models.RetinaNetBackbone(
        image_encoder=encoder, min_level=3, max_level=7, use_p5=False, image_shape=(SIZE, SIZE, 3)
    )
    detector = keras_hub.models.RetinaNetObjectDetector(backbone=backbone, num_classes=NUM_CLASSES)

    @tf.function
    def predict(images):
        return detector.decode_predictions(detector(images, training=False), images)

    return detector, predict


def retinanet_comparison(repeats, saved_model):
    keras.utils.set_random_seed(0)
    model = kzoo.build("retinanet", num_classes=NUM_CLASSES, backbone="resnet50", input_shape=(SIZE, SIZE, 3),
                       num_channels=256, num_convs=4)
    kzoo_predict = tf.function(make_inference_fn(model))
    hub_model, hub_predict = keras_hub_retinanet()
    image = np.random.default_rng(0).integers(0, 256, (1, SIZE, SIZE, 3)).astype(np.uint8)
    paths = {"kzoo": (kzoo_predict, tf.constant(image)), "keras_hub": (hub_predict, tf.constant(image, tf.float32))}
    if saved_model:
        from kzoo.export import export_saved_model

        directory = export_saved_model(model, tempfile.mkdtemp(), "retinanet")
        serving = tf.saved_model.load(directory).signatures["serving_default"]
        paths["kzoo_saved_model"] = (lambda x: serving(images=x), tf.constant(image))
    for fn, x in paths.values():  # trace and warm up
        for _ in range(2):
            timed(fn, x, 1)
    times = {name: [] for name in paths}
    for _ in range(repeats):  # alternate, so that machine load hits both alike
        for name, (fn, x) in paths.items():
            times[name] += timed(fn, x, 1)
    latency = {name: statistics.median(t) for name, t in times.items()}

    forward = tf.function(lambda x: model(x, training=False))
    flops = graph_flops(forward, tf.TensorSpec((1, SIZE, SIZE, 3), tf.float32))
    hub_forward = tf.function(lambda x: hub_model(x, training=False))
    hub_flops = graph_flops(hub_forward, tf.TensorSpec((1, SIZE, SIZE, 3), tf.float32))
    peak = matmul_gflops()
    print(f"RetinaNet ResNet-50 FPN, {SIZE}x{SIZE}, batch 1, {NUM_CLASSES} classes, end to end with NMS "
          f"(median of {repeats}):")
    print(f"{'':<18} {'ms':>8} {'model GFLOP':>12} {'GFLOP/s':>9} {'params':>11}")
    params = {"kzoo": model.count_params(), "keras_hub": hub_model.count_params()}
    for name, seconds in latency.items():
        model_flops = hub_flops if name == "keras_hub" else flops
        print(f"{name:<18} {seconds * 1e3:>8.1f} {model_flops / 1e9:>12.1f} {model_flops / seconds / 1e9:>9.1f} "
              f"{params.get(name, params['kzoo']):>11,}")
    print(f"kzoo / keras_hub latency ratio: {latency['kzoo'] / latency['keras_hub']:.3f} (< 1: kzoo faster)")
    print(f"2048x2048 matmul: {peak:.1f} GFLOP/s; kzoo reaches {flops / latency['kzoo'] / 1e9 / peak:.1%} of it")


def sliding_window_cost(repeats):
    print("\nSliding-window detector (tiny crop classifier, 5 classes) against RetinaNet (tiny, 64 ch), batch 1:")
    print(f"{'model':<22} {'image':>6} {'scales':>7} {'windows':>8} {'ms':>8} {'GFLOP':>7}")
    rng = np.random.default_rng(0)
    for size in (128, 256, 512):
        for scales in ((1.0,), (1.414, 1.0, 0.707), sliding_window.SCALES):
            model = sliding_window.build_sliding_window_detector(5, "tiny", (size, size, 3), scales=scales)
            _report("sliding_window", model, size, len(scales), rng, repeats)
        model = kzoo.build("retinanet", num_classes=5, backbone="tiny", input_shape=(size, size, 3), num_channels=64,
                           num_convs=2)
        _report("retinanet", model, size, "-", rng, repeats)


def _report(name, model, size, scales, rng, repeats):
    predict = tf.function(make_inference_fn(model))
    image = tf.constant(rng.integers(0, 256, (1, size, size, 3)).astype(np.uint8))
    timed(predict, image, 2)
    seconds = statistics.median(timed(predict, image, repeats))
    # Windows (anchors for RetinaNet) classified: the rows of the raw class logits, a layer of the graph.
    windows = model.get_layer("class_logits").output.shape[1]
    flops = graph_flops(tf.function(lambda x: model(x, training=False)), tf.TensorSpec((1, size, size, 3), tf.float32))
    print(f"{name:<22} {size:>6} {scales:>7} {windows:>8} {seconds * 1e3:>8.1f} {flops / 1e9:>7.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--saved-model", action="store_true", help="also time the exported SavedModel")
    parser.add_argument("--skip-retinanet", action="store_true")
    parser.add_argument("--skip-sliding-window", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_retinanet:
        retinanet_comparison(args.repeats, args.saved_model)
    if not args.skip_sliding_window:
        sliding_window_cost(args.repeats)


if __name__ == "__main__":
    main()
