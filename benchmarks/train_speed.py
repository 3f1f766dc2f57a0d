"""Training throughput: kzoo RetinaNet's ``fit`` against KerasHub's RetinaNet ``fit``, in one interleaved run.

Both sides train RetinaNet ResNet-50 FPN (or ``--backbone tiny``) (P3-P7, 256 channels, 4-conv
subnets, 9 anchors, randomly initialized) on the same images and classes:
the first ``--images`` training images of ``shapes`` (5 classes), resized to
``--size`` (256), in batches of ``--batch-size``, with Adam and each
library's own losses (focal loss and smooth L1 in kzoo, focal loss and Huber
in KerasHub) and its own target encoding: kzoo encodes anchor targets in the
``tf.data`` pipeline (``fit_dataset``), KerasHub in its ``compute_loss``,
inside the train step. Each round fits ``--steps`` steps on each side, in
alternation, after one untimed round (tracing); steps per second are those
steps over the wall time from the first step's start to the last step's
end (a callback's clock: not the input iterator's making and deletion,
once per ``fit`` call); median, min and max over ``--rounds``, and the
ratio of the medians.

With ``--xla`` each library also runs with ``jit_compile=True`` (Keras
leaves XLA off on CPU-only machines and under ``tf.distribute``), as two
more sides of the same loop.

With ``--mixed-precision`` each library also builds its model under Keras's
mixed policy (``kzoo.training.trainer.precision_policy``: bfloat16 compute
on CPUs, float16 on GPUs; kzoo's ``--mixed-precision``), as two more sides.

With ``--fine-tune`` each library also trains with its backbone frozen as
detection papers fine-tune ImageNet backbones (``kzoo.backbones.freeze_backbone``
with ``"P2"``: every batch norm on its stored statistics, the stem and the
stride-4 stage frozen; kzoo's ``--freeze-backbone P2``); KerasHub's ResNet
gets the same freezing by hand, as two more sides.

``--threads N`` sets TF's intra- and inter-op threads (both; before any
work; default: TF's, one per core).

The run ends with the arithmetic rate each side reaches (a step counted
as three forward passes of kzoo's model, FLOPs from TF's graph profiler)
against a 2048 x 2048 float32 matmul at the same threads: how far any
library could go on this machine (sides that train every layer only),
and the share of that rate a 1.2x lead over KerasHub would take.

``--profile DIR`` also writes a TensorBoard profiler trace of kzoo's timed
steps in the last round (``--profile-side`` picks another side; open it
with TensorBoard's profile plugin) and prints the share of its op time by
kind (convolutions and their gradients, batch norm, optimizer, losses) and
by TF op type, and
``--split`` times kzoo's forward pass alone and the gradient step alone on
one batch, to say where a step goes.

    python benchmarks/train_speed.py [--size 256] [--batch-size 4] [--steps 5] [--rounds 3]

KerasHub is an optional dependency (``pip install kzoo[bench]``).
"""

import argparse
import collections
import functools
import glob
import os
import statistics
import sys
import time
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kzoo  # noqa: E402
import kzoo.data  # noqa: E402
from kzoo.backbones import build_backbone, freeze_backbone  # noqa: E402
from kzoo.backbones.fused import swap_batch_norms  # noqa: E402
from kzoo.layers import FusedBatchNormalization  # noqa: E402
from kzoo.models.detection import compile_retinanet, raw_outputs_model  # noqa: E402
from kzoo.models.registry import get_spec  # noqa: E402
from kzoo.training.pipeline import fit_dataset  # noqa: E402
from kzoo.training.trainer import precision_policy  # noqa: E402
from kzoo.tradeoffs.measure import MATMUL_FLOPS, function_flops, interleaved_times_ms, matmul_fn  # noqa: E402

DATASET = "shapes"
LEARNING_RATE = 1e-4


def kzoo_side(size, batch_size, images, jit_compile=False, freeze=None, backbone="resnet50"):
    """kzoo's RetinaNet, compiled, and its training pipeline (targets in tf.data), repeating."""
    keras.utils.set_random_seed(0)
    info = kzoo.data.info(DATASET)
    model = kzoo.build("retinanet", num_classes=info.num_classes, backbone=backbone, input_shape=(size, size, 3),
                       num_channels=256, num_convs=4)
    if freeze:
        freeze_backbone(model, freeze)
    trained = raw_outputs_model(model)
    compile_retinanet(trained, None, LEARNING_RATE)
    trained.jit_compile = jit_compile
    data = fit_dataset(get_spec("retinanet"), "train", batch_size, (size, size), dataset=DATASET, take=images,
                       cache=True, repeat=True)
    return trained, data


def keras_hub_side(size, batch_size, images, jit_compile=False, freeze=None, backbone="resnet50"):
    """KerasHub's RetinaNetObjectDetector, compiled with its defaults but kzoo's learning rate, and the same
    images (absolute yxyx boxes, -1 padding) as a repeating dataset. On ResNet-50 its encoder is KerasHub's
    ``ResNetBackbone``; on ``tiny`` it is kzoo's tiny backbone with Keras's batch norm layers (as KerasHub
    would build it), handed to KerasHub as its pyramid outputs.
    ``freeze`` freezes the encoder as ``freeze_backbone`` does kzoo's (by the stride of each layer's output)."""
    import keras_hub

    info = kzoo.data.info(DATASET)
    if backbone == "resnet50":
        encoder = keras_hub.models.ResNetBackbone(
            input_conv_filters=[64], input_conv_kernel_sizes=[7], stackwise_num_filters=[64, 128, 256, 512],
            stackwise_num_blocks=[3, 4, 6, 3], stackwise_num_strides=[1, 2, 2, 2], block_type="bottleneck_block",
            image_shape=(size, size, 3),
        )
        pyramid = encoder
    else:
        # As KerasHub would build it: Keras's own batch norm layers.
        encoder = swap_batch_norms(build_backbone(backbone, (size, size, 3)), FusedBatchNormalization,
                                   keras.layers.BatchNormalization)
        pyramid = types.SimpleNamespace(inputs=encoder.inputs, pyramid_outputs=encoder.output)
    backbone = keras_hub.models.RetinaNetBackbone(
        image_encoder=pyramid, min_level=3, max_level=7, use_p5=False, image_shape=(size, size, 3)
    )
    detector = keras_hub.models.RetinaNetObjectDetector(backbone=backbone, num_classes=info.num_classes)
    if freeze:
        freeze_backbone(encoder, freeze)  # named "*_backbone", so it is taken for a backbone
    detector.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), jit_compile=jit_compile)
    elements = list(kzoo.data.load(DATASET, "train").take(images).as_numpy_iterator())
    most = max(len(e["boxes"]) for e in elements)
    pixels = np.stack([tf.image.resize(tf.cast(e["image"], tf.float32), (size, size)).numpy() for e in elements])
    boxes = np.full((len(elements), most, 4), -1.0, np.float32)
    labels = np.full((len(elements), most), -1, np.int32)
    for i, element in enumerate(elements):
        boxes[i, : len(element["boxes"])] = element["boxes"] * size
        labels[i, : len(element["classes"])] = element["classes"]
    data = tf.data.Dataset.from_tensor_slices((pixels, {"boxes": boxes, "labels": labels}))
    return detector, data.batch(batch_size, drop_remainder=True).repeat().prefetch(tf.data.AUTOTUNE)


def op_time_shares(logdir):
    """Shares of the traced TF op time by kind of op and by op type, from the newest ``*.xplane.pb`` under
    ``logdir`` (by modification time: a reused directory keeps older traces, whose paths may sort later)."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    newest = max(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True), key=os.path.getmtime)
    with open(newest, "rb") as f:
        space.ParseFromString(f.read())
    shares, by_type = collections.Counter(), collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" not in name or not name.startswith("StatefulPartitionedCall"):
                    continue  # not an op of the train function
                op_name, op_type = name.rsplit(":", 1)
                lower = op_name.lower()
                kind = ("convolution" if "Conv2D" in op_type else "batch norm" if "_bn" in lower or "batch_norm" in lower
                        else "optimizer" if "adam" in lower else "loss" if "loss" in lower else "other")
                gradient = " gradient" if "gradient_tape" in op_name else ""
                shares[kind + gradient] += event.duration_ps
                by_type[op_type] += event.duration_ps
    total = sum(shares.values())
    return ({kind: time / total for kind, time in shares.most_common()},
            {kind: time / total for kind, time in by_type.most_common()})


class StepClock(keras.callbacks.Callback):
    """The wall time from the first step's start to the last step's end of one ``fit`` call."""

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.end = time.perf_counter()


def steps_per_second(model, data, steps):
    """Steps per second of ``steps`` fit steps, without what ``fit`` does once per call (making the input
    iterator, and deleting it, which at two TF threads here sometimes takes 1.6 s)."""
    clock = StepClock()
    model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[clock])
    return steps / (clock.end - clock.start)


def forward_and_gradient_ms(model, data, repeats=5):
    """Milliseconds of kzoo's forward pass alone and of a whole gradient step, on one batch."""
    images, targets = next(iter(data))
    forward = tf.function(lambda x: model(x, training=True))
    step = model.make_train_function()
    iterator = iter(tf.data.Dataset.from_tensors((images, targets)).repeat())
    times = interleaved_times_ms({"forward": lambda: forward(images), "step": lambda: step(iterator)}, repeats, 1)
    return statistics.median(times["forward"]), statistics.median(times["step"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--backbone", default="resnet50", choices=("resnet50", "tiny"),
                        help="ResNet-50 (KerasHub's own ResNet on its side) or kzoo's tiny net on both sides")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--images", type=int, default=64, help="training images (cached in memory)")
    parser.add_argument("--steps", type=int, default=5, help="fit steps per side per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", default=None, help="write a profiler trace of kzoo's last timed steps here")
    parser.add_argument("--profile-side", default="kzoo", help="the side --profile traces (for example 'kzoo mixed')")
    parser.add_argument("--split", action="store_true", help="also time kzoo's forward pass and gradient step")
    parser.add_argument("--xla", action="store_true", help="also run both with jit_compile=True")
    parser.add_argument("--mixed-precision", action="store_true", help="also run both under the mixed policy")
    parser.add_argument("--threads", type=int, default=None,
                        help="TF intra- and inter-op threads (default: TF's, one per core)")
    parser.add_argument("--fine-tune", action="store_true",
                        help="also run both with the backbone frozen for fine-tuning (batch norm, stem and P2)")
    args = parser.parse_args(argv)
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    kzoo_model = functools.partial(kzoo_side, args.size, args.batch_size, args.images, backbone=args.backbone)
    hub_model = functools.partial(keras_hub_side, args.size, args.batch_size, args.images, backbone=args.backbone)
    sides = {"kzoo": kzoo_model(), "keras_hub": hub_model()}
    if args.xla:
        sides["kzoo + XLA"] = kzoo_model(jit_compile=True)
        sides["keras_hub + XLA"] = hub_model(jit_compile=True)
    if args.mixed_precision:
        with precision_policy(True):
            sides["kzoo mixed"] = kzoo_model()
            sides["keras_hub mixed"] = hub_model()
    if args.fine_tune:
        sides["kzoo fine-tune"] = kzoo_model(freeze="P2")
        sides["keras_hub fine-tune"] = hub_model(freeze="P2")
    for model, data in sides.values():  # tracing and the first steps, untimed
        steps_per_second(model, data, 2)
    rates = {name: [] for name in sides}
    for round_index in range(args.rounds):
        for name, (model, data) in sides.items():
            profiling = args.profile and name == args.profile_side and round_index == args.rounds - 1
            if profiling:
                tf.profiler.experimental.start(args.profile)
            rates[name].append(steps_per_second(model, data, args.steps))
            if profiling:
                tf.profiler.experimental.stop()
    print(f"RetinaNet {args.backbone} FPN, {args.size}x{args.size}, batch {args.batch_size}, {DATASET} "
          f"({kzoo.data.info(DATASET).num_classes} classes), {args.steps} fit steps per side per round, "
          f"{args.rounds} rounds in alternation")
    print(f"{'':<20} {'steps/s median':>14} {'min':>7} {'max':>7} {'images/s':>9} {'trained weights':>16}")
    for name, values in rates.items():
        median = statistics.median(values)
        trained = sum(int(np.prod(w.shape)) for w in sides[name][0].trainable_weights)
        print(f"{name:<20} {median:>14.3f} {min(values):>7.3f} {max(values):>7.3f} "
              f"{median * args.batch_size:>9.2f} {trained:>16,}")
    ratio = statistics.median(rates["kzoo"]) / statistics.median(rates["keras_hub"])
    print(f"kzoo / keras_hub steps per second, ratio of medians: {ratio:.2f} (> 1: kzoo faster)")
    if args.xla:
        for name in ("kzoo + XLA", "keras_hub + XLA"):
            print(f"{name} / keras_hub: {statistics.median(rates[name]) / statistics.median(rates['keras_hub']):.2f}")
    if args.mixed_precision:
        for name in ("kzoo mixed", "keras_hub mixed"):
            print(f"{name} / keras_hub: {statistics.median(rates[name]) / statistics.median(rates['keras_hub']):.2f}")
    if args.fine_tune:
        for name in ("kzoo fine-tune", "keras_hub fine-tune"):
            print(f"{name} / keras_hub: {statistics.median(rates[name]) / statistics.median(rates['keras_hub']):.2f}")
    # The arithmetic bound: a step is about three forward passes (the backward pass computes two products per
    # forward one), against a large matmul's rate at the same threads.
    model = sides["kzoo"][0]
    forward = function_flops(lambda x: model(x, training=False),
                             [tf.TensorSpec((args.batch_size, args.size, args.size, 3), tf.float32)])
    matmul = MATMUL_FLOPS / statistics.median(interleaved_times_ms({"matmul": matmul_fn()}, 10, 2)["matmul"]) / 1e6
    print(f"a kzoo step: about {3 * forward / 1e9:.0f} GFLOP (3 x the forward's {forward / 1e9:.0f}); "
          f"matmul 2048^2 at the same threads, after the rounds: {matmul:.0f} GFLOP/s")
    of_matmul = {}  # each side's GFLOP/s as a share of the matmul's
    for name, values in rates.items():
        if "fine-tune" in name:
            continue  # its frozen layers skip part of the backward pass: three forward passes overcount it
        of_matmul[name] = 3 * forward * statistics.median(values) / 1e9 / matmul
        print(f"  {name}: about {of_matmul[name] * matmul:.0f} GFLOP/s ({of_matmul[name]:.0%} of the matmul's)")
    # The same FLOPs at the (float32) matmul's rate: about the most any implementation of this step could gain.
    print(f"  1.2 x keras_hub would take {1.2 * of_matmul['keras_hub']:.0%} of the matmul's rate; "
          f"at 100 % kzoo's step would run {1 / of_matmul['kzoo']:.2f} times faster")
    if args.profile:
        shares, by_type = op_time_shares(args.profile)
        print(f"{args.profile_side}'s op time: " + ", ".join(f"{kind} {share:.0%}" for kind, share in shares.items()))
        print("  by op type: " + ", ".join(f"{kind} {share:.0%}" for kind, share in by_type.items() if share >= 0.01))
    if args.split:
        forward, step = forward_and_gradient_ms(*sides["kzoo"])
        print(f"kzoo, one batch: forward {forward:.0f} ms, whole step {step:.0f} ms "
              f"(backward and update {step - forward:.0f} ms, {1 - forward / step:.0%})")


if __name__ == "__main__":
    main()
