"""Recipe: YOLO v1 (7 x 7 grid, 2 boxes per cell, sum-squared loss) on ``shapes``.

Trains ``build_yolo`` with ``model.fit`` under ``tf.distribute``
(MirroredStrategy over all local GPUs; MultiWorkerMirroredStrategy when
TF_CONFIG names several workers), with checkpoints, resumable state and
TensorBoard logs in ``--out``. Cell targets are made in the tf.data
pipeline (``yolo_targets``); the loss picks each object's responsible
predictor by IoU during training, as in the paper.

    python recipes/yolo.py --epochs 30 --out runs/yolo
    kzoo train yolo --epochs 30 --out runs/yolo
"""

import argparse

from kzoo.models.detection import compile_yolo
from kzoo.training import train


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/yolo", help="checkpoints, logs and history go here")
    parser.add_argument("--backbone", default="tiny", help="a name from `kzoo backbones`")
    parser.add_argument("--dataset", default="shapes")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--head-channels", type=int, default=128)
    parser.add_argument("--hidden-units", type=int, default=512, help="first fully connected layer (4096 in the paper)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=16, help="global batch, split across replicas")
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="default: one pass over the train split")
    parser.add_argument("--validation-steps", type=int, default=None)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--cpu-replicas", type=int, default=None, help="split the CPU into N replicas (no GPU)")
    parser.add_argument("--verbose", type=int, default=1)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return train(
        "yolo",
        args.out,
        compile_fn=lambda model, strategy: compile_yolo(model, strategy, args.learning_rate),
        model_kwargs={
            "backbone": args.backbone,
            "input_shape": (args.image_size, args.image_size, 3),
            "head_channels": args.head_channels,
            "hidden_units": args.hidden_units,
        },
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
