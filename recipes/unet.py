"""Recipe: U-Net on ``shapes`` semantic segmentation.

Trains ``build_unet`` with ``model.fit`` under ``tf.distribute``
(MirroredStrategy over all local GPUs; MultiWorkerMirroredStrategy when
TF_CONFIG names several workers), with checkpoints, resumable state and
TensorBoard logs in ``--out``. The loss is cross-entropy, Dice or their sum.

    python recipes/unet.py --epochs 10 --out runs/unet
    python recipes/unet.py --backbone mobilenet_v2 --upsampling nearest --loss dice
    kzoo train unet --epochs 10 --out runs/unet
"""

from kzoo_cli.argtypes import positive_int
from kzoo_cli.recipe_args import SEGMENTATION_LOSSES, recipe_parser

UPSAMPLINGS = ("transpose_conv", "nearest", "bed_of_nails", "max_unpooling")


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "unet", dataset="shapes", image_size=128, epochs=10, batch_size=8,
        backbone="plain", backbone_help="'plain' (the paper's encoder) or a name from `kzoo backbones`",
    )
    parser.add_argument("--upsampling", default="transpose_conv", choices=UPSAMPLINGS)
    parser.add_argument("--base-filters", type=positive_int, default=8,
                        help="plain encoder widths: base, 2x, 4x, 8x, 16x")
    parser.add_argument("--loss", default="cross_entropy", choices=SEGMENTATION_LOSSES,
                        help="cross-entropy, Dice or their sum")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from kzoo.models.segmentation import compile_segmentation
    from kzoo.training import train_recipe

    filters = tuple(args.base_filters * 2**level for level in range(5))
    return train_recipe(
        args,
        lambda model, strategy: compile_segmentation(model, strategy, args.loss, args.learning_rate),
        model_kwargs={"upsampling": args.upsampling, "filters": filters},
    )


if __name__ == "__main__":
    main()
