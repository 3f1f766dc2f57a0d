"""Recipe: SSDLite (SSD with depthwise-separable convolutions after the backbone) on ``shapes``.

Trains ``build_ssdlite`` with SSD's targets and multibox loss, using
``model.fit`` under ``tf.distribute`` (MirroredStrategy over all local
GPUs; MultiWorkerMirroredStrategy when TF_CONFIG names several workers),
with checkpoints, resumable state and TensorBoard logs in ``--out``. The
mobile detector of MobileNetV2's paper: export it as full-integer int8
TFLite for phones and edge boards.

    python recipes/ssdlite.py --epochs 20 --out runs/ssdlite
    kzoo train ssdlite --backbone mobilenet_v2 --image-size 320
    kzoo export runs/ssdlite/best.keras --name ssdlite --format tflite --quantize int8
"""

from kzoo_cli.argtypes import positive_float, positive_int
from kzoo_cli.recipe_args import recipe_parser


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "ssdlite", dataset="shapes", image_size=128, epochs=20, batch_size=16,
        backbone_help="a name from `kzoo backbones` (mobilenet_v2 in the paper, at 320 pixels)",
    )
    parser.add_argument("--extra-channels", type=positive_int, default=128,
                        help="channels of the extra feature layers (256 by the builder)")
    parser.add_argument("--negative-ratio", type=positive_float, default=3.0, help="hard negatives kept per positive")
    return parser.parse_args(argv)


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
