"""The command-line arguments every recipe in ``recipes/`` shares, without importing TensorFlow.

A recipe builds its parser here and imports kzoo's models only when it
trains, so ``kzoo train NAME --help`` (and ``python recipes/NAME.py --help``)
answers at once::

    parser = recipe_parser(__doc__, "unet", dataset="shapes", image_size=128, epochs=10, batch_size=8)
    parser.add_argument("--loss", default="cross_entropy", choices=SEGMENTATION_LOSSES)
    args = parser.parse_args(argv)

Recipe defaults are sized to train on the built-in 128-pixel datasets on a
CPU within minutes; the builders' defaults are the papers'. Where the two
differ, the option's help names the paper's value, and the help's closing
lines say so.
"""

import argparse
import sys

from kzoo_cli.argtypes import at_least_one, fraction, positive_float, positive_int

# Option vocabularies of the models (kept equal to the builders' by tests/cli/test_cli.py).
SEGMENTATION_LOSSES = ("cross_entropy", "dice", "cross_entropy_dice")

# kzoo.backbones.freezing.FREEZE_CHOICES, kept equal by tests/cli/test_cli.py.
FREEZE_CHOICES = ("batch_norm", "P2", "P3", "P4", "P5")

# Set by `kzoo train NAME` while it runs a recipe: the recipe's usage then reads "kzoo train NAME", and its
# refusals "kzoo: error: ...", as every kzoo command's.
COMMAND_PROG = None

# Bad arguments exit with status 1, as every other failure of a kzoo command (README, "Export and serving").
ERROR_STATUS = 1

SMALLER_THAN_PAPER = (
    "Defaults are sized to train on the built-in 128-pixel datasets on a CPU in\n"
    "minutes. Where a paper (and the model's builder) uses more, the option's help\n"
    "gives the paper's value in parentheses."
)


def _has_default(default):
    """Whether a default is worth showing (None, False and SUPPRESS say nothing)."""
    return default not in (None, False, argparse.SUPPRESS)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Recipe help: the docstring as written, and every option's default (where there is one)."""

    def _get_help_string(self, action):
        help_text = action.help or ""
        if "%(default)" in help_text or not action.option_strings or not _has_default(action.default):
            return help_text
        return f"{help_text} (default: %(default)s)"


class RecipeParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose help shows every option's default, even of options without help text.

    Options given before ``--help`` become the defaults it shows: ``kzoo train
    fcn16s --help`` runs the FCN recipe with ``--variant 16s --help`` and
    shows 16s as the default.

    A bad argument is refused in one line, ``kzoo: error: argument --epochs:
    ...`` (``NAME.py: error: ...`` when the recipe runs as a script), with
    status 1; the usage is shown by ``--help`` only.
    """

    def __init__(self, *args, **kwargs):
        if kwargs.get("prog") is None and COMMAND_PROG:
            kwargs["prog"] = COMMAND_PROG
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(ERROR_STATUS, f"{self.prog.split()[0]}: error: {message}\n")

    def add_argument(self, *args, **kwargs):
        if not kwargs.get("help") and _has_default(kwargs.get("default")):
            kwargs["help"] = "(default: %(default)s)"
        return super().add_argument(*args, **kwargs)

    def parse_known_args(self, args=None, namespace=None):
        args = sys.argv[1:] if args is None else list(args)
        if "-h" in args or "--help" in args:
            given, _ = super().parse_known_args([a for a in args if a not in ("-h", "--help")])
            for action in self._actions:
                if action.dest != "help" and hasattr(given, action.dest):
                    action.default = getattr(given, action.dest)
        return super().parse_known_args(args, namespace)


def recipe_parser(
    description,
    model_name,
    dataset,
    image_size,
    epochs,
    batch_size,
    learning_rate=2e-3,
    backbone="tiny",
    backbone_help="a name from `kzoo backbones`",
    backbone_choices=None,
    backbone_aliases=(),
    pretrained=True,
):
    """An ``ArgumentParser`` with the arguments every recipe takes, defaulting to ``model_name``'s settings.

    The arguments: ``--out``, ``--backbone``, ``--dataset``, ``--image-size``,
    ``--epochs``, ``--batch-size``, ``--steps-per-epoch``,
    ``--validation-steps``, ``--learning-rate``, ``--flip``, ``--zoom-in``,
    ``--color-jitter``, ``--mixed-precision``, ``--cpu-replicas`` and ``--verbose``. ``backbone_aliases`` are other
    spellings of ``--backbone`` (``--encoder`` for DeconvNet's presets). With
    ``pretrained`` (models whose builder takes backbone ``weights``) it adds
    ``--weights`` and ``--freeze-backbone``.
    """
    parser = RecipeParser(description=description, epilog=SMALLER_THAN_PAPER, formatter_class=HelpFormatter)
    parser.set_defaults(model_name=model_name)
    parser.add_argument("--out", default=None, help="checkpoints, logs and history go here (default runs/<model>)")
    parser.add_argument("--backbone", *backbone_aliases, default=backbone, choices=backbone_choices, help=backbone_help)
    parser.add_argument("--dataset", default=dataset,
                        help="a name from `kzoo datasets`, a TFDS name, or a folder of your own (see the README)")
    parser.add_argument("--image-size", type=positive_int, default=image_size, help="model input side; images are resized")
    parser.add_argument("--epochs", type=positive_int, default=epochs)
    parser.add_argument("--batch-size", type=positive_int, default=batch_size, help="global batch, split across replicas")
    parser.add_argument("--steps-per-epoch", type=positive_int, default=None, help="default: one pass over the train split")
    parser.add_argument("--validation-steps", type=positive_int, default=None)
    parser.add_argument("--learning-rate", type=positive_float, default=learning_rate)
    if pretrained:
        parser.add_argument("--weights", default=None,
                            help="backbone weights: 'imagenet' or a weights file (default: from scratch)")
        parser.add_argument(
            "--freeze-backbone", default=None, choices=FREEZE_CHOICES + ("none",),
            help="fine-tuning: the backbone's batch norm runs on its stored statistics, and with P2..P5 every "
                 "layer up to that level is frozen too (default: P2, the stem and first stage, with --weights, as "
                 "Detectron and torchvision fine-tune; none without)",
        )
    parser.add_argument(
        "--flip", action="store_true", help="random horizontal flips of the training images (labels mirrored)"
    )
    parser.add_argument(
        "--zoom-in", type=fraction, default=None, metavar="MIN_SCALE",
        help="random crops that keep every object, at least MIN_SCALE of the image side, resized back",
    )
    parser.add_argument(
        "--color-jitter", type=at_least_one, default=None, metavar="FACTOR",
        help="random exposure and saturation scales in [1/FACTOR, FACTOR] (e.g. 1.5, as YOLO)",
    )
    parser.add_argument("--mixed-precision", action="store_true",
                        help="float16 compute on GPUs, bfloat16 on CPUs; losses and outputs stay float32")
    parser.add_argument("--cpu-replicas", type=positive_int, default=None, help="split the CPU into N replicas (no GPU)")
    parser.add_argument("--verbose", type=int, default=1)
    return parser


def add_rpn_arguments(parser, channels_help="FPN and RPN channels (256 in the papers)", fc=True, rois_help=None,
                      instance_head=False):
    """Adds the arguments of models with a Region Proposal Network: ``--channels`` (or, with
    ``channels_help=None``, nothing: the recipe names its own), ``--fc`` (when ``fc``), ``--proposals``,
    ``--train-proposals``, ``--rois`` and, for a mask or keypoint head (``instance_head``), ``--instance-rois``."""
    if channels_help:
        parser.add_argument("--channels", type=positive_int, default=64, help=channels_help)
    if fc:
        parser.add_argument("--fc", type=positive_int, default=256,
                            help="width of the box head's two fully connected layers (1024 in the papers)")
    parser.add_argument("--proposals", type=positive_int, default=300, help="proposals per image at test time")
    parser.add_argument("--train-proposals", type=positive_int, default=300,
                        help="proposals per image while training (2000 in the papers)")
    parser.add_argument("--rois", type=positive_int, default=128,
                        help=rois_help or "RoIs sampled per training image (512 in the paper)")
    if instance_head:
        parser.add_argument("--instance-rois", type=positive_int, default=None,
                            help="positive RoIs per image the mask or keypoint head trains on "
                                 "(default: every sampled positive, a quarter of --rois at most)")
    return parser


__all__ = ["HelpFormatter", "RecipeParser", "SEGMENTATION_LOSSES", "add_rpn_arguments", "recipe_parser"]
