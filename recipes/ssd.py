"""Recipe: SSD (default boxes on five feature maps, multibox loss with 3:1 hard negatives) on ``shapes``.

Trains ``build_ssd`` with ``model.fit`` under ``tf.distribute``
(MirroredStrategy over all local GPUs; MultiWorkerMirroredStrategy when
TF_CONFIG names several workers), with checkpoints, resumable state and
TensorBoard logs in ``--out``. Default-box targets are encoded in the
tf.data pipeline (``ssd_targets``).

    python recipes/ssd.py --epochs 20 --out runs/ssd
    python recipes/ssd.py --backbone vgg16 --image-size 320 --extra-channels 512
    kzoo train ssd --epochs 20 --out runs/ssd
"""

import argparse

from kzoo.models.detection import compile_ssd
from kzoo.training import train


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/ssd", help="checkpoints, logs and history go here")
    parser.add_argument("--backbone", default="tiny", help="a name from `kzoo backbones` (vgg16 in the paper)")
    parser.add_argument("--dataset", default="shapes")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--extra-channels", type=int, default=128, help="channels of the extra feature layers")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=16, help="global batch, split across replicas")
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="default: one pass over the train split")
    parser.add_argument("--validation-steps", type=int, default=None)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--negative-ratio", type=float, default=3.0, help="hard negatives kept per positive")
    parser.add_argument("--cpu-replicas", type=int, default=None, help="split the CPU into N replicas (no GPU)")
    parser.add_argument("--verbose", type=int, default=1)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return train(
        "ssd",
        args.out,
        compile_fn=lambda model, strategy: compile_ssd(model, strategy, args.learning_rate, args.negative_ratio),
        model_kwargs={
            "backbone": args.backbone,
            "input_shape": (args.image_size, args.image_size, 3),
            "extra_channels": args.extra_channels,
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
