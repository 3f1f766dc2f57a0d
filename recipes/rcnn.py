"""Recipe: R-CNN (selective search, a CNN on every warped region, linear SVMs, box regression) on ``shapes``.

R-CNN trains in stages, here two ``model.fit`` runs of its training graph:

1. ``finetune``: the CNN and a softmax over C + 1 classes on warped
   regions (IoU >= 0.5 positives, a quarter of each sample), from
   selective search proposals computed once per split and cached on disk.
   Checkpoints go to ``OUT/finetune/``.
2. ``svm``: starting from stage 1's best checkpoint, with the CNN frozen,
   one linear SVM per class (hinge loss, hard negatives mined per step) and
   class-specific box regressors (least squares with an L2 penalty).
   Checkpoints go to ``OUT/``; ``OUT/best.keras`` is the detector.

Both stages run under ``tf.distribute`` with resumable state, like every recipe.

    python recipes/rcnn.py --epochs 10 --svm-epochs 3 --out runs/rcnn
    kzoo train rcnn --epochs 10 --out runs/rcnn
"""

import os

from kzoo_cli.argtypes import positive_int
from kzoo_cli.recipe_args import recipe_parser


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "rcnn", dataset="shapes", image_size=128, epochs=10, batch_size=8,
        backbone_help="a name from `kzoo backbones`: the CNN run on each warped region (AlexNet in the paper)",
    )
    parser.add_argument("--proposals", type=positive_int, default=300, help="selective search proposals per image")
    parser.add_argument("--crop-size", type=positive_int, default=64,
                        help="side of the warped regions (227 in the paper)")
    parser.add_argument("--fc", type=positive_int, default=256, help="width of the fully connected region feature")
    parser.add_argument("--regions", type=positive_int, default=32, help="regions sampled per training image")
    parser.add_argument("--svm-epochs", type=positive_int, default=3, help="epochs of the second stage (SVMs, boxes)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from kzoo.models.two_stage import compile_two_stage
    from kzoo.training import train_recipe

    out = args.out or "runs/rcnn"
    model_kwargs = {"num_proposals": args.proposals, "crop_size": args.crop_size, "representation_size": args.fc}
    compile_fn = lambda model, strategy: compile_two_stage(model, strategy, args.learning_rate)  # noqa: E731
    finetune_dir = os.path.join(out, "finetune")
    train_recipe(
        argparse_copy(args, out=finetune_dir), compile_fn, model_kwargs,
        training_settings={"stage": "finetune", "num_samples": args.regions},
    )
    return train_recipe(
        argparse_copy(args, out=out, epochs=args.svm_epochs), compile_fn, model_kwargs,
        training_settings={"stage": "svm", "num_samples": args.regions},
        initial_weights=os.path.join(finetune_dir, "best.keras"),
    )


def argparse_copy(args, **changes):
    """The parsed arguments with some replaced (each stage has its own folder and epochs)."""
    copied = type(args)(**vars(args))
    for key, value in changes.items():
        setattr(copied, key, value)
    return copied


if __name__ == "__main__":
    main()
