"""Recipe: Fast R-CNN (selective search proposals, RoI pooling, multi-task head) on ``shapes``.

Selective search runs once per dataset split, with a progress bar, and its
proposals are cached on disk (``kzoo.data.proposal_cache``; the folder is
``$KZOO_CACHE_DIR/proposals`` or ``~/.cache/kzoo/proposals``). Then
``model.fit`` trains the model's training graph under ``tf.distribute``:
the backbone runs once per image, RoIs are sampled from the proposals
with the ground truth appended (a quarter foreground), RoI-pooled to 7 x 7,
and the softmax and smooth-L1 losses train together in one stage.
Checkpoints in ``--out`` hold the inference graph, which takes images and
proposals.

    python recipes/fast_rcnn.py --epochs 20 --out runs/fast_rcnn
    python recipes/fast_rcnn.py --pooling align --proposals 500
    kzoo train fast_rcnn --epochs 20 --out runs/fast_rcnn
"""

from kzoo_cli.argtypes import positive_int
from kzoo_cli.recipe_args import recipe_parser


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "fast_rcnn", dataset="shapes", image_size=128, epochs=20, batch_size=8,
        backbone_help="a name from `kzoo backbones` (vgg16 in the paper; its stride-16 map is read)",
    )
    parser.add_argument("--proposals", type=positive_int, default=300, help="selective search proposals per image")
    parser.add_argument("--pooling", choices=["pool", "align"], default="pool", help="RoI max pooling or RoIAlign")
    parser.add_argument("--fc", type=positive_int, default=256, help="width of the head's two fully connected layers")
    parser.add_argument("--rois", type=positive_int, default=64,
                        help="RoIs sampled per training image (64 in the paper)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from kzoo.models.two_stage import compile_two_stage
    from kzoo.training import train_recipe

    return train_recipe(
        args,
        lambda model, strategy: compile_two_stage(model, strategy, args.learning_rate),
        model_kwargs={
            "num_proposals": args.proposals,
            "roi_heads": {"pooling": args.pooling, "representation_size": args.fc},
        },
        training_settings={"roi_num_samples": args.rois},
    )


if __name__ == "__main__":
    main()
