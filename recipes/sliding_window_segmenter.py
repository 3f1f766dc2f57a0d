"""Recipe: the sliding-window segmenter on ``shapes`` semantic segmentation.

Trains the fully convolutional form of the patch classifier
(``build_sliding_window_segmenter``) with ``model.fit`` under
``tf.distribute`` (MirroredStrategy over all local GPUs;
MultiWorkerMirroredStrategy when TF_CONFIG names several workers), with
checkpoints, resumable state and TensorBoard logs in ``--out``. A per-pixel
loss on the fully convolutional form trains the patch classifier on every
patch of every image at once; ``copy_sliding_window_weights`` moves the
weights into the naive patch classifier.

    python recipes/sliding_window_segmenter.py --epochs 5 --out runs/sliding_window
    kzoo train sliding_window_segmenter --loss cross_entropy
"""

from kzoo_cli.recipe_args import SEGMENTATION_LOSSES, recipe_parser

PATCH_NETS = ("small", "tiny")


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "sliding_window_segmenter", dataset="shapes", image_size=128, epochs=5, batch_size=8,
        backbone="small", backbone_help="patch classifier preset", backbone_choices=PATCH_NETS,
        backbone_aliases=("--patch-net",), pretrained=False,
    )
    parser.add_argument("--loss", default="cross_entropy", choices=SEGMENTATION_LOSSES,
                        help="cross-entropy, Dice or their sum")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from kzoo.models.segmentation import compile_segmentation
    from kzoo.training import train_recipe

    return train_recipe(
        args, lambda model, strategy: compile_segmentation(model, strategy, args.loss, args.learning_rate)
    )


if __name__ == "__main__":
    main()
