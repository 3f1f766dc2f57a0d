"""Short epochs with and without tf.data's autotuner: the wall time of ``fit`` over several epochs with validation.

``fit`` makes a new input iterator for every epoch of a finite dataset and
for every validation pass, and deletes the old one; deleting an autotuned
iterator can wait for the autotuner (about 1.4 s, about half the time, on a
2-core machine). This fits RetinaNet in the detector benchmark's
configuration (``train_detectors.CONFIGS``: tiny backbone, 64-channel
heads, batches of 16) on the first ``--images`` training images of
``shapes``, validating on 64, with
``fit_dataset(autotune=False)`` (kzoo's default) and ``autotune=True`` in
alternation, and prints each run's seconds for ``--epochs`` epochs (after
one untimed epoch: tracing).

    python benchmarks/epoch_autotune.py [--epochs 6] [--images 256] [--repeats 3]
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
BENCHMARKS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(BENCHMARKS, ".."))
sys.path.insert(0, BENCHMARKS)

import keras  # noqa: E402

import kzoo  # noqa: E402
import kzoo.data  # noqa: E402
from kzoo.models.detection import compile_retinanet, raw_outputs_model  # noqa: E402
from kzoo.models.registry import get_spec  # noqa: E402
from kzoo.training.pipeline import fit_dataset  # noqa: E402
from train_detectors import CONFIGS  # noqa: E402

DATASET = "shapes"


def fit_seconds(autotune, epochs, images):
    """Seconds of ``epochs`` epochs of ``fit`` with validation, after one untimed epoch."""
    keras.utils.set_random_seed(0)
    spec, config, info = get_spec("retinanet"), CONFIGS["retinanet"], kzoo.data.info(DATASET)
    size, batch_size = tuple(info.image_size), config["batch_size"]
    model = kzoo.build("retinanet", num_classes=info.num_classes, input_shape=size + (3,), **config["model"])
    trained = raw_outputs_model(model)
    compile_retinanet(trained, None, config["learning_rate"])
    train = fit_dataset(spec, "train", batch_size, size, dataset=DATASET, take=images, shuffle=True, flip=True,
                        autotune=autotune)
    validation = fit_dataset(spec, "validation", batch_size, size, dataset=DATASET, take=64, autotune=autotune)
    trained.fit(train, validation_data=validation, epochs=1, verbose=0)
    start = time.perf_counter()
    trained.fit(train, validation_data=validation, epochs=epochs, verbose=0)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--images", type=int, default=256, help="training images")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    seconds = {False: [], True: []}
    for _ in range(args.repeats):
        for autotune in seconds:
            seconds[autotune].append(fit_seconds(autotune, args.epochs, args.images))
            print(f"autotune {'on ' if autotune else 'off'}: {seconds[autotune][-1]:.1f} s", flush=True)
    for autotune, values in seconds.items():
        print(f"{args.epochs} epochs with validation, autotune {'on' if autotune else 'off'}: "
              f"median {sorted(values)[len(values) // 2]:.1f} s (min {min(values):.1f}, max {max(values):.1f})")


if __name__ == "__main__":
    main()
