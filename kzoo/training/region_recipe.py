"""What the recipes of models with a Region Proposal Network share: their arguments and their call to ``train``.

Faster R-CNN, R-FCN, Mask R-CNN and keypoint R-CNN all take proposal counts
(test time and training), the RoIs sampled per image, the RPN's width and,
where they have one, the width of the fully connected box head; and all
train their training graph with ``compile_two_stage``.
"""

from kzoo_cli.argtypes import positive_int
from kzoo.training.recipe import train_recipe


def add_rpn_arguments(parser, channels_help="FPN and RPN channels (256 in the papers)", fc=True, rois_help=None):
    """Adds ``--channels`` (or, with ``channels_help=None``, nothing: the recipe names its own),
    ``--fc`` (when ``fc``), ``--proposals``, ``--train-proposals`` and ``--rois``."""
    if channels_help:
        parser.add_argument("--channels", type=positive_int, default=64, help=channels_help)
    if fc:
        parser.add_argument("--fc", type=positive_int, default=256,
                            help="width of the box head's two fully connected layers")
    parser.add_argument("--proposals", type=positive_int, default=300, help="proposals per image at test time")
    parser.add_argument("--train-proposals", type=positive_int, default=300, help="proposals per image while training")
    parser.add_argument("--rois", type=positive_int, default=128,
                        help=rois_help or "RoIs sampled per training image (512 in the paper)")
    return parser


def train_rpn_recipe(args, model_kwargs, rpn_channels=None):
    """``train`` with the RPN settings of ``add_rpn_arguments`` merged into ``model_kwargs``.

    The RPN is ``rpn_channels`` wide (``args.channels`` by default); with
    ``--fc`` the box head's ``representation_size`` is set too.
    """
    from kzoo.models.two_stage import compile_two_stage

    kwargs = dict(model_kwargs)
    kwargs["rpn"] = {"num_channels": rpn_channels or args.channels, "post_nms_top_k": args.proposals}
    if getattr(args, "fc", None) is not None:
        kwargs["roi_heads"] = {**kwargs.get("roi_heads", {}), "representation_size": args.fc}
    return train_recipe(
        args,
        lambda model, strategy: compile_two_stage(model, strategy, args.learning_rate),
        model_kwargs=kwargs,
        training_settings={"rpn_post_nms_top_k": args.train_proposals, "roi_num_samples": args.rois},
    )
