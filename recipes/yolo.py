"""Recipe: YOLO v1 (7 x 7 grid, 2 boxes per cell, sum-squared loss) on ``shapes``.

Trains ``build_yolo`` with ``model.fit`` under ``tf.distribute``
(MirroredStrategy over all local GPUs; MultiWorkerMirroredStrategy when
TF_CONFIG names several workers), with checkpoints, resumable state and
TensorBoard logs in ``--out``. Cell targets are made in the tf.data
pipeline (``yolo_targets``); the loss picks each object's responsible
predictor by IoU during training, as in the paper.

    python recipes/yolo.py --epochs 30 --out runs/yolo
    kzoo train yolo --epochs 30 --out runs/yolo
"""

from kzoo_cli.argtypes import positive_int
from kzoo_cli.recipe_args import recipe_parser


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "yolo", dataset="shapes", image_size=128, epochs=30, batch_size=16, learning_rate=1e-3
    )
    parser.add_argument("--head-channels", type=positive_int, default=128)
    parser.add_argument("--hidden-units", type=positive_int, default=512,
                        help="first fully connected layer (4096 in the paper)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from kzoo.models.detection import compile_yolo
    from kzoo.training import train_recipe

    return train_recipe(
        args,
        lambda model, strategy: compile_yolo(model, strategy, args.learning_rate),
        model_kwargs={"head_channels": args.head_channels, "hidden_units": args.hidden_units},
    )


if __name__ == "__main__":
    main()
