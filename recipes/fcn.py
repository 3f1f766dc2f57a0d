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

from kzoo_cli.argtypes import non_negative_float, positive_int
from kzoo_cli.recipe_args import SEGMENTATION_LOSSES, recipe_parser

VARIANTS = ("32s", "16s", "8s")


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "fcn8s", dataset="shapes", image_size=128, epochs=10, batch_size=8, backbone="alexnet"
    )
    parser.add_argument("--variant", default="8s", choices=VARIANTS, help="output stride of the finest fused scores")
    parser.add_argument("--head-filters", type=positive_int, default=256,
                        help="width of fc6 and fc7 (4096 in the paper)")
    parser.add_argument("--dropout", type=non_negative_float, default=0.1)
    parser.add_argument("--loss", default="cross_entropy", choices=SEGMENTATION_LOSSES,
                        help="cross-entropy, Dice or their sum")
    args = parser.parse_args(argv)
    args.model_name = f"fcn{args.variant}"
    return args


def main(argv=None):
    args = parse_args(argv)
    from kzoo.models.segmentation import compile_segmentation
    from kzoo.training import train_recipe

    return train_recipe(
        args,
        lambda model, strategy: compile_segmentation(model, strategy, args.loss, args.learning_rate),
        model_kwargs={"head_filters": args.head_filters, "dropout": args.dropout},
    )


if __name__ == "__main__":
    main()
