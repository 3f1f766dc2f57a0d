"""XLA on the CPU: does each model's training step compile with ``jit_compile=True``, and how much faster is it.

Keras leaves XLA off on CPU-only machines (``jit_compile="auto"``) and under
``tf.distribute``. For each model (the detector benchmark's configuration,
or the tiny backbone), this builds the training graph ``fit`` trains, runs
the same batches with and without XLA from the same weights, and reports
the first step's loss on both sides (dropout draws differ under XLA) and
the median process CPU seconds per step.

    python benchmarks/xla_step.py --models classifier unet ssd yolo retinanet faster_rcnn
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
BENCHMARKS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(BENCHMARKS, ".."))
sys.path.insert(0, BENCHMARKS)

import keras  # noqa: E402

import kzoo  # noqa: E402
import kzoo.data  # noqa: E402
from kzoo.models.registry import get_spec  # noqa: E402
from kzoo.training.pipeline import fit_dataset  # noqa: E402
from train_detectors import CONFIGS  # noqa: E402


def step_cost(name, jit_compile, batches, rounds):
    """(first step's loss, median CPU seconds per step), or (None, the error's first line)."""
    spec = get_spec(name)
    info = kzoo.data.info(spec.dataset)
    config = CONFIGS.get(name, {"model": {"backbone": "tiny"}})
    keras.utils.set_random_seed(0)
    model = kzoo.build(name, num_classes=info.num_classes, input_shape=tuple(info.image_size) + (3,), **config["model"])
    settings = {**config["training"], "seed": 0} if config.get("training") is not None else None
    trained = model if spec.training_model is None else spec.training_model(model, settings)
    spec.compile(trained)
    trained.jit_compile = jit_compile
    try:
        first = trained.train_on_batch(*batches[0], return_dict=True)["loss"]
        times = []
        for _ in range(rounds):
            for batch in batches:
                start = time.process_time()
                trained.train_on_batch(*batch)
                times.append(time.process_time() - start)
    except Exception as error:  # noqa: BLE001  (a graph XLA cannot compile is a result here)
        return None, str(error).strip().splitlines()[0][:160]
    return first, statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["classifier", "unet", "ssd", "yolo", "retinanet"])
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{'model':<24} {'loss':>9} {'XLA loss':>9} {'CPU s/step':>10} {'XLA':>7} {'speed-up':>8}")
    for name in args.models:
        spec = get_spec(name)
        batch_size = CONFIGS.get(name, {}).get("batch_size", 8)
        data = fit_dataset(spec, "train", batch_size, tuple(kzoo.data.info(spec.dataset).image_size),
                           take=batch_size * args.batches)
        batches = list(data)
        loss, seconds = step_cost(name, False, batches, args.rounds)
        xla_loss, xla_seconds = step_cost(name, True, batches, args.rounds)
        if xla_loss is None:
            print(f"{name:<24} {loss:>9.4f} {'-':>9} {seconds:>10.3f}   XLA does not compile it: {xla_seconds}")
            continue
        print(f"{name:<24} {loss:>9.4f} {xla_loss:>9.4f} {seconds:>10.3f} {xla_seconds:>7.3f} "
              f"{seconds / xla_seconds:>8.2f}")


if __name__ == "__main__":
    main()
