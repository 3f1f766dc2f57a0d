"""Recipe: SSD and SSDLite (default boxes on five feature maps, multibox loss with 3:1 hard negatives) on ``shapes``.

Trains ``build_ssd``, or with ``--separable`` ``build_ssdlite`` (MobileNetV2's
mobile detector: depthwise-separable predictors and extra layers), with
``model.fit`` under ``tf.distribute``
(MirroredStrategy over all local GPUs; MultiWorkerMirroredStrategy when
TF_CONFIG names several workers), with checkpoints, resumable state and
TensorBoard logs in ``--out``. Default-box targets are encoded in the
tf.data pipeline (``ssd_targets``).

    python recipes/ssd.py --epochs 20 --out runs/ssd
    python recipes/ssd.py --backbone vgg16 --image-size 320 --extra-channels 512
    kzoo train ssd --epochs 20 --out runs/ssd
    kzoo train ssdlite --backbone mobilenet_v2 --image-size 320    # ssd --separable
"""

from kzoo_cli.argtypes import positive_float, positive_int
from kzoo_cli.recipe_args import recipe_parser


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "ssd", dataset="shapes", image_size=128, epochs=20, batch_size=16,
        backbone_help="a name from `kzoo backbones` (vgg16 in the paper; SSDLite's: mobilenet_v2)",
    )
    parser.add_argument("--separable", action="store_true",
                        help="SSDLite: depthwise-separable predictors and extra layers (the model ssdlite)")
    parser.add_argument("--extra-channels", type=positive_int, default=128,
                        help="channels of the extra feature layers (256 by the builders)")
    parser.add_argument("--negative-ratio", type=positive_float, default=3.0, help="hard negatives kept per positive")
    args = parser.parse_args(argv)
    args.model_name = "ssdlite" if args.separable else "ssd"
    return args


def main(argv=None):
    args = parse_args(argv)
    from kzoo.models.detection import compile_ssd
    from kzoo.training import train_recipe

    return train_recipe(
        args,
        lambda model, strategy: compile_ssd(model, strategy, args.learning_rate, args.negative_ratio),
        model_kwargs={"extra_channels": args.extra_channels},
    )


if __name__ == "__main__":
    main()
