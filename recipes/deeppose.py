"""Recipe: DeepPose on single stick figures (14 joints).

Trains ``build_deeppose``, a joint regressor followed by cascade refinement
stages on crops around each joint, with the visibility-weighted L2 loss on
every stage, using ``model.fit`` under ``tf.distribute`` (MirroredStrategy
over all local GPUs; MultiWorkerMirroredStrategy when TF_CONFIG names several
workers), with checkpoints, resumable state and TensorBoard logs in ``--out``.

    python recipes/deeppose.py --epochs 30 --out runs/deeppose
    kzoo train deeppose --stages 2 --backbone alexnet
"""

from kzoo_cli.argtypes import non_negative_float, positive_float, positive_int
from kzoo_cli.recipe_args import recipe_parser


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "deeppose", dataset="stick_figures/single", image_size=64, epochs=30, batch_size=64,
        learning_rate=1e-3, backbone_help="a name from `kzoo backbones` (the paper: alexnet)",
    )
    parser.add_argument("--feature-level", default="P5", help="backbone level the regressor reads")
    parser.add_argument("--hidden-units", type=positive_int, default=512)
    parser.add_argument("--stages", type=positive_int, default=1, help="cascade refinement stages (0: plain regressor)")
    parser.add_argument("--crop-size", type=positive_int, default=16, help="side of each joint's crop, pixels")
    parser.add_argument("--box-scale", type=positive_float, default=1.0, help="crop side in torso diameters")
    parser.add_argument("--jitter", type=non_negative_float, default=0.0,
                        help="training shift of stage inputs, crop sides")
    parser.add_argument("--norm", choices=("l2", "l1"), default="l2", help="joint distance in the loss")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from kzoo.models.pose import CascadeConfig, compile_deeppose
    from kzoo.training import train_recipe

    cascade = CascadeConfig(stages=args.stages, crop_size=args.crop_size, box_scale=args.box_scale, jitter=args.jitter)
    return train_recipe(
        args,
        lambda model, strategy: compile_deeppose(model, strategy, args.learning_rate, args.norm),
        model_kwargs={"feature_level": args.feature_level, "hidden_units": args.hidden_units, "cascade": cascade},
    )


if __name__ == "__main__":
    main()
