"""Mobile-class detection: SSD and SSDLite on MobileNetV2 as full-integer int8 TFLite, in one interleaved run.

Each detector (5 classes, random weights, 320 x 320 by default) is exported
by ``export_tflite(quantize="int8")``: uint8 pixels in, decoding and NMS
inside, builtin ops only, calibrated on random images. The LiteRT
interpreter runs each file with ``--threads`` threads (XNNPACK, as it
ships), every file once per round in alternation over ``--repeats`` rounds
(median, min and max). The MobileNetV2 backbone alone, int8, is timed in the
same loop: the floor under any head.

    python benchmarks/mobile_latency.py [--size 320] [--threads 2] [--repeats 50]
"""

import argparse
import os
import statistics
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402

import kzoo  # noqa: E402
from kzoo.backbones import build_backbone  # noqa: E402
from kzoo.export import export_tflite  # noqa: E402
from kzoo.export.tflite_convert import convert_callable  # noqa: E402
from kzoo.tradeoffs.measure import interleaved_times_ms  # noqa: E402

DETECTORS = (("ssd", "mobilenet_v2"), ("ssdlite", "mobilenet_v2"), ("ssdlite", "mobilenet_v2_0.75"),
             ("ssdlite", "mobilenet_v2_0.5"))


def _invoke(path, image, threads):
    interpreter = Interpreter(model_path=path, num_threads=threads)
    interpreter.allocate_tensors()
    details = interpreter.get_input_details()[0]
    pixels = image.astype(details["dtype"])

    def call():
        interpreter.set_tensor(details["index"], pixels)
        interpreter.invoke()

    return call


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args(argv)
    size = args.size
    rng = np.random.default_rng(0)
    calibration = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(16)]
    calls, params = {}, {}
    with tempfile.TemporaryDirectory() as workdir:
        for name, backbone in DETECTORS:
            model = kzoo.build(name, num_classes=5, backbone=backbone, input_shape=(size, size, 3),
                               extra_channels=256)
            label = f"{name} {backbone}"
            path = export_tflite(model, os.path.join(workdir, f"{name}_{backbone}.tflite"), quantize="int8",
                                 representative_data=calibration)
            calls[label], params[label] = _invoke(path, calibration[0][None], args.threads), model.count_params()
        backbone = build_backbone("mobilenet_v2", (size, size, 3))

        def representative():
            for image in calibration:
                yield [image[None].astype(np.float32)]

        path = os.path.join(workdir, "backbone.tflite")
        with open(path, "wb") as handle:
            handle.write(convert_callable(backbone, [tf.TensorSpec((1, size, size, 3), tf.float32)], "int8",
                                          representative, trackable=backbone))
        label = "mobilenet_v2 backbone alone"
        calls[label], params[label] = _invoke(path, calibration[0][None], args.threads), backbone.count_params()
        times = interleaved_times_ms(calls, repeats=args.repeats, warmup=5)
    print(f"int8 TFLite, {size} x {size}, batch 1, {args.threads} threads, {args.repeats} rounds in alternation")
    print(f"{'':<30} {'median ms':>9} {'min':>6} {'max':>6} {'params':>10}")
    for label, values in times.items():
        print(f"{label:<30} {statistics.median(values):>9.1f} {min(values):>6.1f} {max(values):>6.1f} "
              f"{params[label]:>10,}")


if __name__ == "__main__":
    main()
