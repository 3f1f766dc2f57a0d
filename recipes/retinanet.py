"""Recipe: RetinaNet (FPN, shared subnets over P3-P7, focal loss) on ``shapes``.

Trains ``build_retinanet`` with ``model.fit`` under ``tf.distribute``
(MirroredStrategy over all local GPUs; MultiWorkerMirroredStrategy when
TF_CONFIG names several workers), with checkpoints, resumable state and
TensorBoard logs in ``--out``. Anchor targets are encoded in the tf.data
pipeline (``retinanet_targets``); the focal and smooth-L1 losses are
normalized by the positive anchors of the global batch.

    python recipes/retinanet.py --epochs 20 --out runs/retinanet
    python recipes/retinanet.py --backbone resnet50 --image-size 512 --channels 256 --convs 4
    kzoo train retinanet --epochs 20 --out runs/retinanet
"""

import argparse

from kzoo.models.detection import compile_retinanet
from kzoo.training import train


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/retinanet", help="checkpoints, logs and history go here")
    parser.add_argument("--backbone", default="tiny", help="a name from `kzoo backbones` (resnet50 in the paper)")
    parser.add_argument("--dataset", default="shapes")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--channels", type=int, default=64, help="FPN and subnet channels (256 in the paper)")
    parser.add_argument("--convs", type=int, default=2, help="convolutions per subnet (4 in the paper)")
    parser.add_argument("--epochs", type=int, default=20)
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
        "retinanet",
        args.out,
        compile_fn=lambda model, strategy: compile_retinanet(model, strategy, args.learning_rate),
        model_kwargs={
            "backbone": args.backbone,
            "input_shape": (args.image_size, args.image_size, 3),
            "num_channels": args.channels,
            "num_convs": args.convs,
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
