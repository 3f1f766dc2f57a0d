"""Recipe: FCN-32s, FCN-16s or FCN-8s on ``shapes`` semantic segmentation.

Trains ``build_fcn32s`` / ``build_fcn16s`` / ``build_fcn8s`` (``--variant``)
with ``model.fit`` under ``tf.distribute`` (MirroredStrategy over all local
GPUs; MultiWorkerMirroredStrategy when TF_CONFIG names several workers), with
checkpoints, resumable state and TensorBoard logs in ``--out``. The loss is
cross-entropy, Dice or their sum.

    python recipes/fcn.py --variant 8s --epochs 10 --out runs/fcn8s
    python recipes/fcn.py --variant 32s --backbone vgg16 --weights imagenet
    kzoo train fcn --variant 16s
"""

import argparse

from kzoo.models.segmentation import LOSSES, compile_segmentation
from kzoo.training import train

VARIANTS = ("32s", "16s", "8s")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", default="8s", choices=VARIANTS, help="output stride of the finest fused scores")
    parser.add_argument("--out", default=None, help="checkpoints, logs and history (default runs/fcn<variant>)")
    parser.add_argument("--backbone", default="alexnet", help="a name from `kzoo backbones`")
    parser.add_argument("--weights", default=None, help="backbone weights: 'imagenet' or a file (default: from scratch)")
    parser.add_argument("--head-filters", type=int, default=256, help="width of fc6 and fc7 (4096 in the paper)")
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--loss", default="cross_entropy", choices=LOSSES, help="cross-entropy, Dice or their sum")
    parser.add_argument("--dataset", default="shapes")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=8, help="global batch, split across replicas")
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="default: one pass over the train split")
    parser.add_argument("--validation-steps", type=int, default=None)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--cpu-replicas", type=int, default=None, help="split the CPU into N replicas (no GPU)")
    parser.add_argument("--verbose", type=int, default=1)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    name = f"fcn{args.variant}"
    model, history = train(
        name,
        args.out or f"runs/{name}",
        compile_fn=lambda model, strategy: compile_segmentation(model, strategy, args.loss, args.learning_rate),
        model_kwargs={
            "backbone": args.backbone,
            "weights": args.weights,
            "head_filters": args.head_filters,
            "dropout": args.dropout,
            "input_shape": (args.image_size, args.image_size, 3),
        },
        epochs=args.epochs,
        batch_size=args.batch_size,
        steps_per_epoch=args.steps_per_epoch,
        validation_steps=args.validation_steps,
        dataset=args.dataset,
        cpu_replicas=args.cpu_replicas,
        verbose=args.verbose,
    )
    return model, history


if __name__ == "__main__":
    main()
