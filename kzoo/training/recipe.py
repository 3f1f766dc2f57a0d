"""The call to ``train`` every recipe in ``recipes/`` shares.

Recipes build their command line with ``kzoo_cli.recipe_args.recipe_parser``
(re-exported here), which imports no TensorFlow, and train with::

    args = parse_args(argv)
    train_recipe(args, compile_fn=..., model_kwargs={"filters": ...})
"""

from kzoo_cli.recipe_args import recipe_parser
from kzoo.training.trainer import train


def _freezing(args):
    """``--freeze-backbone``: as given, or P2 when fine-tuning from ``--weights`` (Detectron's default)."""
    choice = getattr(args, "freeze_backbone", None)
    if choice is None:
        return "P2" if getattr(args, "weights", None) is not None else None
    return None if choice == "none" else choice


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
    if getattr(args, "weights", None) is not None:
        kwargs["weights"] = args.weights
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
        freeze_backbone=_freezing(args),
        cpu_replicas=args.cpu_replicas,
        verbose=args.verbose,
        training_settings=training_settings,
        initial_weights=initial_weights,
    )


__all__ = ["recipe_parser", "train_recipe"]
