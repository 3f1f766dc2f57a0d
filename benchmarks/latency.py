"""Detector inference latency: kzoo RetinaNet against KerasHub's on the same work, and the sliding window's cost.

Part 1, in one run on the same machine: RetinaNet, ResNet-50 FPN (P3-P7, 256
channels, 4-conv subnets, 9 anchors), 640x640, batch 1, 80 classes, end to
end with box decoding and NMS, the same work on both sides:

- the same float32 image at the model's size goes into each model's graph
  (kzoo's Keras model, whose graph ends in its ``DetectionDecoder``;
  KerasHub's ``RetinaNetObjectDetector`` call plus ``decode_predictions``),
  both as ``tf.function``;
- the same NMS: class-agnostic (KerasHub's kind; kzoo's decoder with
  ``class_agnostic=True``), IoU 0.5, score threshold 0.5, 100 detections,
  and every anchor a candidate (kzoo's ``pre_nms_top_k`` covers them all);
- weights that produce a known number of detections: random backbones and
  subnets, but each prediction layer's kernel is zero and its biases give
  one class of the square, scale-1 anchor a score of 0.9 and everything
  else 0.01, so exactly one box per location and level (8525 at 640)
  reaches NMS on both sides, each box its anchor (zero deltas). The run
  checks both sides see that many candidates and return 100 detections.

The sides are called in alternation over ``--repeats`` rounds (one shared
timing loop) and reported as median, min and max, with the ratio of the
medians. With ``--saved-model`` kzoo's exported SavedModel
(``serving_default``: uint8 input, resize, checks) joins the loop, to show
what serving adds; with ``--tflite`` its float32 TFLite file (uint8 input,
XNNPACK on every core, as kzoo's predictors run it) joins too, checked to
return the same 100 detections. Achieved GFLOP/s: each model's forward FLOPs (TF profiler
on the graph) over its latency, against a 2048 x 2048 float32 matmul timed
in the same loop.

Part 2, the sliding-window detector's cost against the number of pyramid
scales and the image size (windows classified and latency per image), next
to RetinaNet at the same sizes.

With ``--mixed-precision`` both are also built under Keras's mixed policy
(bfloat16 compute on CPUs, as kzoo's ``--mixed-precision``), two more sides
of the same loop doing the same work.

    python benchmarks/latency.py [--repeats 20] [--saved-model] [--tflite] [--mixed-precision] [--skip-sliding-window]

KerasHub is an optional dependency (``pip install kzoo[bench]``).
"""

import argparse
import os
import statistics
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kzoo  # noqa: E402
from kzoo.export.inference import make_inference_fn  # noqa: E402
from kzoo.models.detection import sliding_window  # noqa: E402
from kzoo.tradeoffs.measure import MATMUL_FLOPS, interleaved_times_ms, matmul_fn  # noqa: E402
from kzoo.training.trainer import precision_policy  # noqa: E402

SIZE, NUM_CLASSES = 640, 80


def graph_flops(fn, spec):
    """Floating-point operations of one call of a ``tf.function`` (TF profiler, multiply-adds count 2)."""
    from tensorflow.python.profiler import model_analyzer, option_builder

    graph = fn.get_concrete_function(spec).graph
    options = option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation())
    options = options.with_empty_output().build()
    return model_analyzer.profile(graph, options=options).total_float_ops


SCORE, IOU, DETECTIONS, CLASS = 0.5, 0.5, 100, 0


def _prediction_logits(layer, anchor_type, num_classes):
    """Zero ``layer``'s kernel; its biases give ``CLASS`` of ``anchor_type`` logit(0.9), the rest logit(0.01)."""
    kernel, bias = layer.get_weights()
    logits = np.full(bias.shape, np.log(0.01 / 0.99), np.float32)
    logits[anchor_type * num_classes + CLASS] = np.log(0.9 / 0.1)
    layer.set_weights([np.zeros_like(kernel), logits])


def _zero_prediction(layer):
    layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])


def _square_anchor_type(anchors):
    """Index among a location's 9 anchors (``anchors`` [..., A, 4]) of the square one of scale 1 (the smallest)."""
    first = np.reshape(anchors, (-1, 4))[:9]
    heights, widths = first[:, 2] - first[:, 0], first[:, 3] - first[:, 1]
    squares = [i for i in range(9) if abs(heights[i] - widths[i]) < 1e-3]
    return min(squares, key=lambda i: heights[i])


def kzoo_retinanet_same_work():
    """kzoo's RetinaNet with KerasHub's NMS settings and the known-detections weights; (model, predict).

    Built under Keras's global dtype policy (``precision_policy``); its decoding stays float32."""
    from kzoo.layers import DetectionDecoder
    from kzoo.models.detection import raw_outputs_model

    keras.utils.set_random_seed(0)
    model = kzoo.build("retinanet", num_classes=NUM_CLASSES, backbone="resnet50", input_shape=(SIZE, SIZE, 3),
                       num_channels=256, num_convs=4, score_threshold=SCORE, iou_threshold=IOU,
                       max_detections=DETECTIONS)
    images = tf.zeros((1, SIZE, SIZE, 3))
    anchors = model.get_layer("anchors")(images)
    config = model.get_layer("detections").get_config()
    decoder = DetectionDecoder.from_config(
        {**config, "class_agnostic": True, "pre_nms_top_k": int(anchors.shape[-2]), "name": "same_work"}
    )
    _prediction_logits(model.get_layer("class_output"), _square_anchor_type(anchors), NUM_CLASSES)
    _zero_prediction(model.get_layer("box_output"))
    # The same layers (and weights), with the decoder swapped: what predict and the SavedModel both run.
    same = keras.models.clone_model(
        model, clone_function=lambda layer: decoder if layer.name == "detections" else layer
    )
    predict = tf.function(lambda x: same(x, training=False))
    return same, predict, raw_outputs_model(model)


def keras_hub_retinanet():
    """KerasHub's RetinaNet ResNet-50 (its ``NonMaxSuppression`` at ``SCORE``, ``IOU``, ``DETECTIONS``) with the
    known-detections weights; (model, predict, raw outputs), under Keras's global dtype policy."""
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
    decoder = keras_hub.layers.NonMaxSuppression(
        bounding_box_format="yxyx", from_logits=True, iou_threshold=IOU, confidence_threshold=SCORE,
        max_detections=DETECTIONS,
    )
    detector = keras_hub.models.RetinaNetObjectDetector(
        backbone=backbone, num_classes=NUM_CLASSES, prediction_decoder=decoder
    )
    images = tf.zeros((1, SIZE, SIZE, 3))
    anchors = keras.ops.concatenate(list(detector.anchor_generator(images).values()), axis=0)
    _prediction_logits(detector.classification_head.prediction_layer, _square_anchor_type(anchors), NUM_CLASSES)
    _zero_prediction(detector.box_head.prediction_layer)

    @tf.function
    def predict(images):
        # Its decoding fails on bfloat16 outputs (float32 anchors): cast them, as kzoo decodes in float32.
        outputs = tf.nest.map_structure(lambda t: tf.cast(t, tf.float32), detector(images, training=False))
        return detector.decode_predictions(outputs, images)

    return detector, predict, lambda x: detector(x, training=False)


def _candidates(class_logits):
    """How many (anchor, class) scores pass ``SCORE``: the boxes reaching NMS (one class passes per anchor)."""
    return int(np.sum(tf.sigmoid(tf.cast(class_logits, tf.float32)).numpy() > SCORE))


def _spread(values):
    return statistics.median(values), min(values), max(values)


def retinanet_comparison(repeats, saved_model, mixed=False, tflite=False):
    model, kzoo_predict, kzoo_raw = kzoo_retinanet_same_work()
    hub_model, hub_predict, hub_raw = keras_hub_retinanet()
    sides = {"kzoo": (kzoo_predict, kzoo_raw, "class_logits"), "keras_hub": (hub_predict, hub_raw, "cls_logits")}
    if mixed:
        with precision_policy(True):
            sides["kzoo bfloat16"] = (*kzoo_retinanet_same_work()[1:], "class_logits")
            sides["keras_hub bfloat16"] = (*keras_hub_retinanet()[1:], "cls_logits")
    image = np.random.default_rng(0).integers(0, 256, (1, SIZE, SIZE, 3)).astype(np.float32)
    x = tf.constant(image)
    reaching = {name: _candidates(raw(x)[key]) for name, (_, raw, key) in sides.items()}
    found = {name: int(predict(x)["num_detections"][0]) for name, (predict, _, _) in sides.items()}
    if len(set(reaching.values())) != 1 or set(found.values()) != {DETECTIONS}:
        raise SystemExit(f"not the same work: candidates {reaching}, detections {found}")
    paths = {name: (lambda predict=predict: predict(x)) for name, (predict, _, _) in sides.items()}
    if saved_model:
        from kzoo.export import export_saved_model

        directory = export_saved_model(model, tempfile.mkdtemp(), "retinanet")
        serving = tf.saved_model.load(directory).signatures["serving_default"]
        pixels = tf.constant(image.astype(np.uint8))
        paths["kzoo_saved_model (uint8, resize, checks)"] = lambda: serving(images=pixels)
    if tflite:
        from ai_edge_litert.interpreter import Interpreter

        from kzoo.export import export_tflite
        from kzoo.export.predictor import usable_cores

        path = export_tflite(model, os.path.join(tempfile.mkdtemp(), "retinanet.tflite"))
        runner = Interpreter(model_path=path, num_threads=usable_cores()).get_signature_runner()
        pixels = image.astype(np.uint8)
        if int(runner(images=pixels)["num_detections"][0]) != DETECTIONS:
            raise SystemExit("not the same work: the TFLite file does not return every detection")
        paths[f"kzoo_tflite fp32 ({usable_cores()} threads)"] = lambda: runner(images=pixels)
    paths["matmul 2048^2"] = matmul_fn()
    # One shared loop, sides in alternation: load from other processes hits all alike.
    latency = {name: _spread([ms / 1e3 for ms in t]) for name, t in interleaved_times_ms(paths, repeats, 2).items()}

    spec = tf.TensorSpec((1, SIZE, SIZE, 3), tf.float32)
    flops = {
        "kzoo": graph_flops(tf.function(lambda v: model(v, training=False)), spec),
        "keras_hub": graph_flops(tf.function(lambda v: hub_model(v, training=False)), spec),
        "matmul 2048^2": MATMUL_FLOPS,
    }
    flops["keras_hub bfloat16"] = flops["keras_hub"]
    params = {"kzoo": model.count_params(), "keras_hub": hub_model.count_params(), "matmul 2048^2": 0}
    params["keras_hub bfloat16"] = params["keras_hub"]
    peak = MATMUL_FLOPS / latency["matmul 2048^2"][0] / 1e9
    print(f"RetinaNet ResNet-50 FPN, {SIZE}x{SIZE}, batch 1, {NUM_CLASSES} classes, end to end: "
          f"{reaching['kzoo']} candidates reach class-agnostic NMS (IoU {IOU}, score {SCORE}), {DETECTIONS} "
          f"detections on both sides; {repeats} rounds in alternation")
    print(f"{'':<40} {'median ms':>9} {'min':>7} {'max':>7} {'GFLOP':>6} {'GFLOP/s':>8} {'params':>11}")
    for name, (median, low, high) in latency.items():
        model_flops, count = flops.get(name, flops["kzoo"]), params.get(name, params["kzoo"])  # SavedModel: kzoo's
        print(f"{name:<40} {median * 1e3:>9.1f} {low * 1e3:>7.1f} {high * 1e3:>7.1f} {model_flops / 1e9:>6.1f} "
              f"{model_flops / median / 1e9:>8.1f} {count:>11,}")
    ratio = latency["kzoo"][0] / latency["keras_hub"][0]
    print(f"kzoo / keras_hub, ratio of medians: {ratio:.3f} (< 1: kzoo faster)")
    if mixed:
        for name in ("kzoo bfloat16", "keras_hub bfloat16"):
            print(f"{name} / keras_hub: {latency[name][0] / latency['keras_hub'][0]:.3f}")
    print(f"2048x2048 matmul: {peak:.1f} GFLOP/s; kzoo reaches {flops['kzoo'] / latency['kzoo'][0] / 1e9 / peak:.0%} "
          f"of it, keras_hub {flops['keras_hub'] / latency['keras_hub'][0] / 1e9 / peak:.0%}")


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
    seconds = statistics.median(interleaved_times_ms({name: lambda: predict(image)}, repeats, 2)[name]) / 1e3
    # Windows (anchors for RetinaNet) classified: the rows of the raw class logits, a layer of the graph.
    windows = model.get_layer("class_logits").output.shape[1]
    flops = graph_flops(tf.function(lambda x: model(x, training=False)), tf.TensorSpec((1, size, size, 3), tf.float32))
    print(f"{name:<22} {size:>6} {scales:>7} {windows:>8} {seconds * 1e3:>8.1f} {flops / 1e9:>7.2f}")


def main(argv=None):
    global SIZE
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--size", type=int, default=640, help="RetinaNet's image side (a multiple of 128)")
    parser.add_argument("--saved-model", action="store_true", help="also time the exported SavedModel")
    parser.add_argument("--tflite", action="store_true",
                        help="also time kzoo's float32 TFLite file (XNNPACK, one thread per core)")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="also time both built under the mixed policy (bfloat16 compute on CPUs)")
    parser.add_argument("--skip-retinanet", action="store_true")
    parser.add_argument("--skip-sliding-window", action="store_true")
    args = parser.parse_args(argv)
    SIZE = args.size
    if not args.skip_retinanet:
        retinanet_comparison(args.repeats, args.saved_model, args.mixed_precision, args.tflite)
    if not args.skip_sliding_window:
        sliding_window_cost(args.repeats)


if __name__ == "__main__":
    main()
