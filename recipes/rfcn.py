"""Recipe: R-FCN (RPN + position-sensitive score maps, no per-RoI layer) on ``shapes``.

Trains ``build_rfcn`` with ``model.fit`` under ``tf.distribute``
(MirroredStrategy over all local GPUs; MultiWorkerMirroredStrategy when
TF_CONFIG names several workers), with checkpoints, resumable state and
TensorBoard logs in ``--out``. ``fit`` trains the model's training graph
(the same as Faster R-CNN's: anchor targets, proposals, RoI sampling and the
four losses, in one pass of the backbone); the RoIs are scored by pooling
``k x k`` position-sensitive maps and voting. Checkpoints hold the
inference graph (images in, detections out).

    python recipes/rfcn.py --epochs 20 --out runs/rfcn
    python recipes/rfcn.py --bins 3 --channels 512
    kzoo train rfcn --epochs 20 --out runs/rfcn
"""

from kzoo_cli.argtypes import positive_int
from kzoo_cli.recipe_args import add_rpn_arguments, recipe_parser


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "rfcn", dataset="shapes", image_size=128, epochs=20, batch_size=8,
        backbone_help="a name from `kzoo backbones` (resnet101 in the paper)",
    )
    parser.add_argument("--bins", type=positive_int, default=7,
                        help="k: position-sensitive bins per side (7 in the paper)")
    parser.add_argument("--channels", type=positive_int, default=256, help="the 1x1 reduction before the maps (1024)")
    parser.add_argument("--rpn-channels", type=positive_int, default=64,
                        help="the RPN's 3x3 convolution (256 in the paper)")
    add_rpn_arguments(parser, channels_help=None, fc=False, rois_help="RoIs sampled per training image")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from kzoo.training.region_recipe import train_rpn_recipe

    model_kwargs = {"output_size": args.bins, "channels": args.channels}
    return train_rpn_recipe(args, model_kwargs, rpn_channels=args.rpn_channels)


if __name__ == "__main__":
    main()
