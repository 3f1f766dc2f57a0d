"""Recipe: the image classifier on single Fashion-MNIST garments.

Trains ``build_classifier`` with ``model.fit`` under ``tf.distribute``
(MirroredStrategy over all local GPUs; MultiWorkerMirroredStrategy when
TF_CONFIG names several workers), with checkpoints, resumable state and
TensorBoard logs in ``--out``.

    python recipes/classifier.py --epochs 10 --out runs/classifier
    kzoo train classifier --epochs 10 --out runs/classifier
"""

from kzoo_cli.recipe_args import recipe_parser


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "classifier", dataset="fashion_scenes/single", image_size=64, epochs=10, batch_size=64
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from kzoo.models.classification import compile_classifier
    from kzoo.training import train_recipe

    return train_recipe(args, lambda model, strategy: compile_classifier(model, strategy, args.learning_rate))


if __name__ == "__main__":
    main()
