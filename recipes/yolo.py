"""Recipe: YOLO v1 (7 x 7 grid, 2 boxes per cell, sum-squared loss) on ``shapes``.

The head defaults to convolutions on the stride-16 map, not the paper's
fully connected layers (the builder's default, ``--head fully_connected
--feature-level P5``): on ``shapes`` the fully connected head memorizes the
3000 training images and scores test AP 0.131 on the same map where the
convolutional one, whose weights every cell shares, scores 0.539 (15
CPU-minutes each, with the paper's augmentation, as in the second example).

Trains ``build_yolo`` with ``model.fit`` under ``tf.distribute``
(MirroredStrategy over all local GPUs; MultiWorkerMirroredStrategy when
TF_CONFIG names several workers), with checkpoints, resumable state and
TensorBoard logs in ``--out``. Cell targets are made in the tf.data
pipeline (``yolo_targets``); the loss picks each object's responsible
predictor by IoU during training, as in the paper.

    python recipes/yolo.py --epochs 30 --out runs/yolo
    kzoo train yolo --epochs 60 --flip --zoom-in 0.7 --color-jitter 1.5 --out runs/yolo
"""

from kzoo_cli.argtypes import positive_int
from kzoo_cli.recipe_args import recipe_parser

HEADS = ("fully_connected", "convolutional")


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "yolo", dataset="shapes", image_size=128, epochs=30, batch_size=16, learning_rate=1e-3
    )
    parser.add_argument("--head-channels", type=positive_int, default=128)
    parser.add_argument("--hidden-units", type=positive_int, default=512,
                        help="first fully connected layer of the fully connected head (4096 in the paper)")
    parser.add_argument("--head", choices=HEADS, default="convolutional",
                        help="convolutions shared by every cell, or the paper's fully connected layers")
    parser.add_argument("--feature-level", choices=("P4", "P5"), default="P4",
                        help="the backbone map the head reads: P4 (stride 16) is 8 x 8 at 128 pixels, "
                             "about the 7 x 7 grid")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from kzoo.models.detection import compile_yolo
    from kzoo.training import train_recipe

    return train_recipe(
        args,
        lambda model, strategy: compile_yolo(model, strategy, args.learning_rate),
        model_kwargs={
            "head_channels": args.head_channels, "hidden_units": args.hidden_units, "head": args.head,
            "feature_level": args.feature_level,
        },
    )


if __name__ == "__main__":
    main()
