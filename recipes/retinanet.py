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

from kzoo_cli.argtypes import positive_int
from kzoo_cli.recipe_args import recipe_parser


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "retinanet", dataset="shapes", image_size=128, epochs=20, batch_size=16,
        backbone_help="a name from `kzoo backbones` (resnet50 in the paper)",
    )
    parser.add_argument("--channels", type=positive_int, default=64, help="FPN and subnet channels (256 in the paper)")
    parser.add_argument("--convs", type=positive_int, default=2, help="convolutions per subnet (4 in the paper)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from kzoo.models.detection import compile_retinanet
    from kzoo.training import train_recipe

    return train_recipe(
        args,
        lambda model, strategy: compile_retinanet(model, strategy, args.learning_rate),
        model_kwargs={"num_channels": args.channels, "num_convs": args.convs},
    )


if __name__ == "__main__":
    main()
