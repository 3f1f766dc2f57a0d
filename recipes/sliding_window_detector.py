"""Recipe: the sliding-window detector (a crop classifier over an image pyramid) on ``shapes``.

Trains ``build_sliding_window_detector`` with ``model.fit`` under
``tf.distribute`` (MirroredStrategy over all local GPUs;
MultiWorkerMirroredStrategy when TF_CONFIG names several workers), with
checkpoints, resumable state and TensorBoard logs in ``--out``. Every window
of every scale is labelled in the tf.data pipeline
(``sliding_window_targets``); the crop classifier learns from all object
windows and the hardest background windows (3:1).

    python recipes/sliding_window_detector.py --epochs 10 --out runs/sliding_window_detector
    kzoo train sliding_window_detector --epochs 10 --out runs/sliding_window_detector
"""

from kzoo_cli.recipe_args import recipe_parser


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "sliding_window_detector", dataset="shapes", image_size=128, epochs=10, batch_size=16,
        backbone="small", backbone_help="crop classifier: tiny or small", pretrained=False,
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from kzoo.models.detection import compile_sliding_window_detector
    from kzoo.training import train_recipe

    return train_recipe(
        args, lambda model, strategy: compile_sliding_window_detector(model, strategy, args.learning_rate)
    )


if __name__ == "__main__":
    main()
