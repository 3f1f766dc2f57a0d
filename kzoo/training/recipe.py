"""What every recipe in ``recipes/`` shares: its command-line arguments and the call to ``train``.

A recipe adds only its model's own arguments::

    parser = recipe_parser(__doc__, "unet", dataset="shapes", image_size=128, epochs=10, batch_size=8)
    parser.add_argument("--loss", default="cross_entropy", choices=LOSSES)
    args = parser.parse_args(argv)
    train_recipe(args, compile_fn=..., model_kwargs={"filters": ...})
"""

import argparse

from kzoo_cli.argtypes import at_least_one, fraction, positive_float, positive_int
from kzoo.training.trainer import train


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
    """An ``ArgumentParser`` whose help shows every option's default, even of options without help text."""

    def add_argument(self, *args, **kwargs):
        if not kwargs.get("help") and _has_default(kwargs.get("default")):
            kwargs["help"] = "(default: %(default)s)"
        return super().add_argument(*args, **kwargs)


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
):
    """An ``ArgumentParser`` with the arguments every recipe takes, defaulting to ``model_name``'s settings.

    The arguments: ``--out``, ``--backbone``, ``--dataset``, ``--image-size``,
    ``--epochs``, ``--batch-size``, ``--steps-per-epoch``,
    ``--validation-steps``, ``--learning-rate``, ``--flip``, ``--zoom-in``,
    ``--color-jitter``, ``--mixed-precision``, ``--cpu-replicas`` and ``--verbose``. ``backbone_aliases`` are other
    spellings of ``--backbone`` (``--encoder`` for DeconvNet's presets).
    """
    parser = RecipeParser(description=description, formatter_class=HelpFormatter)
    parser.set_defaults(model_name=model_name)
    parser.add_argument("--out", default=None, help="checkpoints, logs and history go here (default runs/<model>)")
    parser.add_argument("--backbone", *backbone_aliases, default=backbone, choices=backbone_choices, help=backbone_help)
    parser.add_argument("--dataset", default=dataset, help="a name from `kzoo datasets`")
    parser.add_argument("--image-size", type=positive_int, default=image_size, help="model input side; images are resized")
    parser.add_argument("--epochs", type=positive_int, default=epochs)
    parser.add_argument("--batch-size", type=positive_int, default=batch_size, help="global batch, split across replicas")
    parser.add_argument("--steps-per-epoch", type=positive_int, default=None, help="default: one pass over the train split")
    parser.add_argument("--validation-steps", type=positive_int, default=None)
    parser.add_argument("--learning-rate", type=positive_float, default=learning_rate)
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


def train_recipe(args, compile_fn, model_kwargs=None, training_settings=None, initial_weights=None):
    """``train`` the recipe's model with the parsed common arguments; returns (model, history dict).

    Args:
        args: parsed arguments from a ``recipe_parser``.
        compile_fn: ``compile_fn(model, strategy)``.
        model_kwargs: the model's own builder arguments; backbone and input
            shape come from ``args``.
        training_settings: the training graph's settings (region-based models).
        initial_weights: a ``.keras`` checkpoint to start from.
    """
    kwargs = {"backbone": args.backbone, "input_shape": (args.image_size, args.image_size, 3)}
    kwargs.update(model_kwargs or {})
    return train(
        args.model_name,
        args.out or f"runs/{args.model_name}",
        compile_fn=compile_fn,
        model_kwargs=kwargs,
        epochs=args.epochs,
        batch_size=args.batch_size,
        steps_per_epoch=args.steps_per_epoch,
        validation_steps=args.validation_steps,
        dataset=args.dataset,
        flip=args.flip,
        zoom_in=args.zoom_in,
        color_jitter=args.color_jitter,
        mixed_precision=args.mixed_precision,
        cpu_replicas=args.cpu_replicas,
        verbose=args.verbose,
        training_settings=training_settings,
        initial_weights=initial_weights,
    )


__all__ = ["recipe_parser", "train_recipe"]
