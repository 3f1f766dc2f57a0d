"""Recipe: classification + localization on single Fashion-MNIST garments.

Trains ``build_classify_localize`` (one network, a class-score head and a box
head) with the multi-task loss ``cross-entropy + box_weight x box loss``,
using ``model.fit`` under ``tf.distribute`` (MirroredStrategy over all local
GPUs; MultiWorkerMirroredStrategy when TF_CONFIG names several workers), with
checkpoints, resumable state and TensorBoard logs in ``--out``.

    python recipes/classify_localize.py --epochs 30 --out runs/classify_localize
    kzoo train classify_localize --epochs 30 --box-loss giou
"""

import argparse

from kzoo.models.localization import BOX_LOSSES, compile_classify_localize
from kzoo.training import train


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/classify_localize", help="checkpoints, logs and history go here")
    parser.add_argument("--backbone", default="tiny", help="a name from `kzoo backbones`")
    parser.add_argument("--feature-level", default="P5", help="backbone level the heads read")
    parser.add_argument("--hidden-units", type=int, default=256)
    parser.add_argument("--dataset", default="fashion_scenes/single")
    parser.add_argument("--image-size", type=int, default=64, help="model input side; images are resized to it")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64, help="global batch, split across replicas")
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="default: one pass over the train split")
    parser.add_argument("--validation-steps", type=int, default=None)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--box-loss", choices=BOX_LOSSES, default="l2")
    parser.add_argument("--box-weight", type=float, default=2.0, help="weight of the box term in the sum")
    parser.add_argument("--cpu-replicas", type=int, default=None, help="split the CPU into N replicas (no GPU)")
    parser.add_argument("--verbose", type=int, default=1)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)

    def compile_fn(model, strategy):
        compile_classify_localize(model, strategy, args.learning_rate, args.box_loss, args.box_weight)

    model, history = train(
        "classify_localize",
        args.out,
        compile_fn=compile_fn,
        model_kwargs={
            "backbone": args.backbone,
            "input_shape": (args.image_size, args.image_size, 3),
            "feature_level": args.feature_level,
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
    return model, history


if __name__ == "__main__":
    main()
