"""Where each family's inference time goes: backbone, neck, heads, decoding, in one interleaved run.

For one model per task family, at a realistic size and backbone with random
weights, the model is cut after each of its stages (``STAGES``: the layer
that ends the stage) into prefix models, images to that layer's output. Every
prefix runs as a ``tf.function`` (the graph a SavedModel serves) on the same
float image, batch 1; the prefixes and the exported SavedModel's
``serving_default`` (uint8 input, resize, checks) are called in alternation
over ``--repeats`` rounds (``kzoo.tradeoffs.measure.interleaved_times_ms``).
A stage's time is the difference between the medians of its prefix and the
one before; the table gives it in ms and as a share of the whole model.

With random weights the detectors' scores stay under their 0.05 threshold and
their NMS would have nothing to do, so the decoders here keep every candidate
(score threshold 0): ``pre_nms_top_k`` boxes reach NMS, the decoding's worst
case.

    python benchmarks/time_split.py                          # every family
    python benchmarks/time_split.py --models retinanet ssd --repeats 30
    python benchmarks/time_split.py --models classifier --out runs/time_split.json
"""

import argparse
import json
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
from kzoo.export import export_saved_model  # noqa: E402
from kzoo.tradeoffs.measure import interleaved_times_ms  # noqa: E402

_KEEP_ALL = dict(score_threshold=0.0)
# Faster R-CNN FPN up to its box head: Mask R-CNN's first stages too.
_FASTER_RCNN_FPN = [
    ("backbone", ["resnet50_backbone"]), ("FPN", ["fpn"]), ("RPN head", ["rpn_head"]),
    ("proposals (decode and NMS)", ["proposals"]), ("RoI pooling and box head", ["box_head"]),
]

# One model per family: builder arguments (a realistic backbone and size) and its stages in order,
# each the name of the stage and the layer(s) whose outputs end it. The last stage ends at the outputs.
MODELS = {
    "classifier": dict(
        build=dict(num_classes=1000, backbone="resnet50", input_shape=(224, 224, 3)),
        stages=[("backbone", ["resnet50_backbone"]), ("head", None)],
    ),
    "fcn8s": dict(
        build=dict(num_classes=21, backbone="vgg16", input_shape=(320, 320, 3)),
        stages=[("backbone", ["vgg16_backbone"]), ("skip heads and upsampling", None)],
    ),
    "unet": dict(
        build=dict(num_classes=21, input_shape=(320, 320, 3)),
        stages=[("encoder", ["bottom_relu2"]), ("decoder", ["up1_relu2"]), ("head", None)],
    ),
    "deeppose": dict(
        build=dict(num_keypoints=14, backbone="resnet50", input_shape=(224, 224, 3)),
        stages=[("backbone", ["resnet50_backbone"]), ("regressor and cascade", None)],
    ),
    "ssd": dict(
        build=dict(num_classes=80, backbone="mobilenet_v2", input_shape=(320, 320, 3), **_KEEP_ALL),
        stages=[
            ("backbone", ["mobilenet_v2_backbone"]), ("extra layers", ["extra_P7"]),
            ("heads", ["box_deltas", "class_logits"]), ("decode and NMS", None),
        ],
    ),
    "yolo": dict(
        build=dict(num_classes=20, backbone="resnet50", input_shape=(448, 448, 3), **_KEEP_ALL),
        stages=[("backbone", ["resnet50_backbone"]), ("head", ["grid"]), ("decode and NMS", None)],
    ),
    "retinanet": dict(
        build=dict(num_classes=80, backbone="resnet50", input_shape=(640, 640, 3), **_KEEP_ALL),
        stages=[
            ("backbone", ["resnet50_backbone"]), ("FPN", ["fpn"]), ("heads", ["box_deltas", "class_logits"]),
            ("decode and NMS", None),
        ],
    ),
    "faster_rcnn": dict(
        build=dict(num_classes=80, backbone="resnet50", input_shape=(640, 640, 3), roi_heads=_KEEP_ALL),
        stages=[*_FASTER_RCNN_FPN, ("decode and NMS", None)],
    ),
    "rfcn": dict(
        build=dict(num_classes=80, backbone="resnet50", input_shape=(640, 640, 3), roi_heads=_KEEP_ALL),
        stages=[
            ("backbone", ["resnet50_backbone"]), ("RPN head", ["rpn_head"]),
            ("proposals (decode and NMS)", ["proposals"]), ("score maps and PS RoI pooling", ["box_head"]),
            ("decode and NMS", None),
        ],
    ),
    "mask_rcnn": dict(
        build=dict(num_classes=80, backbone="resnet50", input_shape=(640, 640, 3), roi_heads=_KEEP_ALL),
        stages=[*_FASTER_RCNN_FPN, ("decode and NMS", ["detections"]), ("mask head", None)],
    ),
}


def prefix_models(model, stages):
    """name -> ``tf.function`` of the model cut after each stage (the last is the whole model)."""
    fns = {}
    for name, layers in stages:
        if layers is None:
            prefix = model
        elif isinstance(model.get_layer(layers[0]), keras.Model):
            # A nested model (the backbone, first in the graph): its ``output`` is its own graph's, so it runs alone.
            prefix = model.get_layer(layers[0])
        else:
            prefix = keras.Model(model.inputs, [model.get_layer(layer).output for layer in layers])
        # Each prefix returns one number, the sum of its outputs: they are computed, but fetching a large
        # intermediate map (U-Net's full-resolution features) would be timed as if it were the stage's work.
        fns[name] = tf.function(
            lambda x, prefix=prefix: tf.add_n(
                [tf.reduce_sum(tf.cast(t, tf.float32)) for t in tf.nest.flatten(prefix(x, training=False))]
            )
        )
    return fns


def split(name, repeats):
    """Stage -> median ms of its own part, the whole model's and the SavedModel's medians, for model ``name``."""
    config = MODELS[name]
    keras.utils.set_random_seed(0)
    model = kzoo.build(name, **config["build"])
    height, width = config["build"]["input_shape"][:2]
    image = tf.constant(np.random.default_rng(0).uniform(0, 255, (1, height, width, 3)), tf.float32)
    fns = {stage: (lambda fn=fn: fn(image)) for stage, fn in prefix_models(model, config["stages"]).items()}
    with tempfile.TemporaryDirectory() as directory:
        served = tf.saved_model.load(export_saved_model(model, directory, name)).signatures["serving_default"]
        pixels = tf.cast(image, tf.uint8)
        key = next(iter(served.structured_input_signature[1]))
        fns["SavedModel serving_default"] = lambda: served(**{key: pixels})
        times = interleaved_times_ms(fns, repeats=repeats)
    medians = {stage: statistics.median(values) for stage, values in times.items()}
    parts, before = {}, 0.0
    for stage, _ in config["stages"]:
        parts[stage] = medians[stage] - before
        before = medians[stage]
    return {"parts_ms": parts, "model_ms": before, "saved_model_ms": medians["SavedModel serving_default"],
            "input": f"{height}x{width}", "backbone": config["build"].get("backbone", "plain")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--repeats", type=int, default=10, help="timed rounds (after 3 untimed ones)")
    parser.add_argument("--out", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    results = {}
    for name in args.models:
        print(f"timing {name} ...", file=sys.stderr, flush=True)
        result = results[name] = split(name, args.repeats)
        print(f"\n{name}, {result['backbone']} at {result['input']}: whole model {result['model_ms']:.1f} ms, "
              f"SavedModel {result['saved_model_ms']:.1f} ms")
        print("| stage | ms | share |\n|---|---|---|")
        for stage, ms in result["parts_ms"].items():
            print(f"| {stage} | {ms:.1f} | {100.0 * ms / result['model_ms']:.0f} % |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
