"""Recipe: DeconvNet on ``shapes`` semantic segmentation.

Trains ``build_deconvnet`` (max-unpooling switches, or bed-of-nails
unpooling with ``--unpooling bed_of_nails``) with ``model.fit`` under
``tf.distribute`` (MirroredStrategy over all local GPUs;
MultiWorkerMirroredStrategy when TF_CONFIG names several workers), with
checkpoints, resumable state and TensorBoard logs in ``--out``. The loss is
cross-entropy, Dice or their sum.

    python recipes/deconvnet.py --epochs 10 --out runs/deconvnet
    python recipes/deconvnet.py --unpooling bed_of_nails --out runs/deconvnet_nails
    kzoo train deconvnet --encoder vgg16
"""

import argparse

from kzoo.models.segmentation import LOSSES, compile_segmentation
from kzoo.models.segmentation.deconvnet import ENCODERS, UNPOOLINGS
from kzoo.training import train


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/deconvnet", help="checkpoints, logs and history go here")
    parser.add_argument("--encoder", default="small", choices=sorted(ENCODERS), help="mirrored encoder preset")
    parser.add_argument("--unpooling", default="switches", choices=UNPOOLINGS)
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
    model, history = train(
        "deconvnet",
        args.out,
        compile_fn=lambda model, strategy: compile_segmentation(model, strategy, args.loss, args.learning_rate),
        model_kwargs={
            "backbone": args.encoder,
            "unpooling": args.unpooling,
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
