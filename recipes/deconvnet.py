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

from kzoo_cli.recipe_args import SEGMENTATION_LOSSES, recipe_parser

ENCODERS = ("slim", "small", "tiny", "vgg16")
UNPOOLINGS = ("switches", "bed_of_nails")


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "deconvnet", dataset="shapes", image_size=128, epochs=10, batch_size=8,
        backbone="small", backbone_help="mirrored encoder preset", backbone_choices=ENCODERS,
        backbone_aliases=("--encoder",), pretrained=False,
    )
    parser.add_argument("--unpooling", default="switches", choices=UNPOOLINGS)
    parser.add_argument("--loss", default="cross_entropy", choices=SEGMENTATION_LOSSES,
                        help="cross-entropy, Dice or their sum")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from kzoo.models.segmentation import compile_segmentation
    from kzoo.training import train_recipe

    return train_recipe(
        args,
        lambda model, strategy: compile_segmentation(model, strategy, args.loss, args.learning_rate),
        model_kwargs={"unpooling": args.unpooling},
    )


if __name__ == "__main__":
    main()
