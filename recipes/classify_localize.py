"""Recipe: classification + localization on single Fashion-MNIST garments.

Trains ``build_classify_localize`` (one network, a class-score head and a box
head) with the multi-task loss ``cross-entropy + box_weight x box loss``,
using ``model.fit`` under ``tf.distribute`` (MirroredStrategy over all local
GPUs; MultiWorkerMirroredStrategy when TF_CONFIG names several workers), with
checkpoints, resumable state and TensorBoard logs in ``--out``.

    python recipes/classify_localize.py --epochs 30 --out runs/classify_localize
    kzoo train classify_localize --epochs 30 --box-loss giou
"""

from kzoo_cli.argtypes import positive_float, positive_int
from kzoo_cli.recipe_args import recipe_parser

BOX_LOSSES = ("l2", "smooth_l1", "giou")


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "classify_localize", dataset="fashion_scenes/single", image_size=64, epochs=30, batch_size=64
    )
    parser.add_argument("--feature-level", default="P5", help="backbone level the heads read")
    parser.add_argument("--hidden-units", type=positive_int, default=256)
    parser.add_argument("--box-loss", choices=BOX_LOSSES, default="l2")
    parser.add_argument("--box-weight", type=positive_float, default=2.0, help="weight of the box term in the sum")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from kzoo.models.localization import compile_classify_localize
    from kzoo.training import train_recipe


    def compile_fn(model, strategy):
        compile_classify_localize(model, strategy, args.learning_rate, args.box_loss, args.box_weight)

    return train_recipe(
        args, compile_fn, model_kwargs={"feature_level": args.feature_level, "hidden_units": args.hidden_units}
    )


if __name__ == "__main__":
    main()
