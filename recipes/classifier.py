"""Recipe: the image classifier on single Fashion-MNIST garments.

Trains ``build_classifier`` with ``model.fit`` under ``tf.distribute``
(MirroredStrategy over all local GPUs; MultiWorkerMirroredStrategy when
TF_CONFIG names several workers), with checkpoints, resumable state and
TensorBoard logs in ``--out``.

    python recipes/classifier.py --epochs 10 --out runs/classifier
    kzoo train classifier --epochs 10 --out runs/classifier
"""

import argparse

from kzoo.models.classification import compile_classifier
from kzoo.training import train


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/classifier", help="checkpoints, logs and history go here")
    parser.add_argument("--backbone", default="tiny", help="a name from `kzoo backbones`")
    parser.add_argument("--dataset", default="fashion_scenes/single")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64, help="global batch, split across replicas")
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="default: one pass over the train split")
    parser.add_argument("--validation-steps", type=int, default=None)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--cpu-replicas", type=int, default=None, help="split the CPU into N replicas (no GPU)")
    parser.add_argument("--verbose", type=int, default=1)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    model, history = train(
        "classifier",
        args.out,
        compile_fn=lambda model, strategy: compile_classifier(model, strategy, args.learning_rate),
        model_kwargs={"backbone": args.backbone, "input_shape": (args.image_size, args.image_size, 3)},
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
