"""Recipe: the sliding-window detector (a crop classifier over an image pyramid) on ``shapes``.

Trains ``build_sliding_window_detector`` with ``model.fit`` under
``tf.distribute`` (MirroredStrategy over all local GPUs;
MultiWorkerMirroredStrategy when TF_CONFIG names several workers), with
checkpoints, resumable state and TensorBoard logs in ``--out``. Every window
of every scale is labelled in the tf.data pipeline
(``sliding_window_targets``); the crop classifier learns from all object
windows and the hardest background windows (3:1).

    python recipes/sliding_window_detector.py --epochs 10 --out runs/sliding_window_detector
    kzoo train sliding_window_detector --epochs 10 --out runs/sliding_window_detector
"""

import argparse

from kzoo.models.detection import compile_sliding_window_detector
from kzoo.training import train


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/sliding_window_detector", help="checkpoints, logs and history go here")
    parser.add_argument("--backbone", default="small", help="crop classifier: tiny or small")
    parser.add_argument("--dataset", default="shapes")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=16, help="global batch, split across replicas")
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="default: one pass over the train split")
    parser.add_argument("--validation-steps", type=int, default=None)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--cpu-replicas", type=int, default=None, help="split the CPU into N replicas (no GPU)")
    parser.add_argument("--verbose", type=int, default=1)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return train(
        "sliding_window_detector",
        args.out,
        compile_fn=lambda model, strategy: compile_sliding_window_detector(model, strategy, args.learning_rate),
        model_kwargs={"backbone": args.backbone, "input_shape": (args.image_size, args.image_size, 3)},
        epochs=args.epochs,
        batch_size=args.batch_size,
        steps_per_epoch=args.steps_per_epoch,
        validation_steps=args.validation_steps,
        dataset=args.dataset,
        cpu_replicas=args.cpu_replicas,
        verbose=args.verbose,
    )


if __name__ == "__main__":
    main()
