"""The ``kzoo`` command: models, datasets, train, evaluate, export, predict, quickstart, tradeoffs."""

import argparse
import contextlib
import difflib
import os
import runpy
import sys

from kzoo_cli import recipe_args
from kzoo_cli.argtypes import non_negative_float, positive_float, positive_int
from kzoo_cli.errors import error_message

# The line TFLite's quantizer writes to the process's stderr (C++) on every int8 conversion; `--verbose` keeps it.
CONVERTER_NOISE = ("fully_quantize: ",)

# The exit status of every failure, bad arguments included (README, "Export and serving").
ERROR_STATUS = 1


class CommandParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose refusals are one line, ``kzoo: error: ...``, with status 1 (usage with --help)."""

    def error(self, message):
        self.exit(ERROR_STATUS, f"kzoo: error: {message}\n")


RECIPES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "recipes")


def _quiet_tensorflow():
    """Import TensorFlow with its C++ start-up lines hidden, and keep its later logs to errors that matter.

    Some lines (absl's "All log messages before absl::InitializeLog()", the
    CUDA probes) are written to the process's stderr before TensorFlow reads
    ``TF_CPP_MIN_LOG_LEVEL``, so the import itself runs with stderr sent to
    the null device. A failed import still raises its Python error.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("AUTOGRAPH_VERBOSITY", "0")
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    sys.stderr.flush()
    os.dup2(null, 2)
    try:
        import tensorflow as tf
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
    tf.get_logger().setLevel("ERROR")


def _cmd_models(args):
    from kzoo.models.registry import MODELS

    for name in sorted(MODELS):
        spec = MODELS[name]
        print(f"{name:28s} {spec.task:28s} trains on {spec.dataset}")


def _cmd_backbones(args):
    from kzoo.backbones import list_backbones

    print("\n".join(list_backbones()))


def _cmd_datasets(args):
    import kzoo.data

    if args.action is None:
        for name in kzoo.data.list_datasets():
            info = kzoo.data.info(name)
            print(f"{name:24s} {info.num_classes:3d} classes  {info.image_size[0]}x{info.image_size[1]}")
        return
    if args.action != "show" or not args.name:
        raise ValueError("datasets show needs a dataset NAME: kzoo datasets show NAME --out FILE.png")
    from kzoo.viz import save_grid, show_element

    info = kzoo.data.info(args.name)
    elements = list(kzoo.data.load(args.name, split=args.split).take(args.count).as_numpy_iterator())
    draw_fns = [
        (lambda ax, e=e: show_element(ax, e, info.class_names, info.skeleton, title="truth")) for e in elements
    ]
    save_grid(draw_fns, args.out)
    print(f"wrote {args.out} ({len(elements)} samples of {args.name}/{args.split})")


def _load_checkpoint(path):
    """A ``.keras`` checkpoint loaded with ``safe_mode=True`` (``kzoo.load_checkpoint``), or a one-line ``ValueError``."""
    import kzoo

    return kzoo.load_checkpoint(path)


# Registered names that one recipe trains with an argument: `kzoo train fcn8s` is `recipes/fcn.py --variant 8s`,
# `kzoo train ssdlite` is `recipes/ssd.py --separable`.
RECIPE_ALIASES = {
    "fcn32s": ("fcn", ["--variant", "32s"]),
    "fcn16s": ("fcn", ["--variant", "16s"]),
    "fcn8s": ("fcn", ["--variant", "8s"]),
    "ssdlite": ("ssd", ["--separable"]),
}


def _recipes():
    names = sorted(f[:-3] for f in os.listdir(RECIPES_DIR) if f.endswith(".py")) if os.path.isdir(RECIPES_DIR) else []
    return sorted(names + list(RECIPE_ALIASES))


def _no_recipe_message(name, path):
    """Why ``kzoo train NAME`` has nothing to run: the closest names, or all of them when they are few."""
    if name.endswith(".py"):
        return f"no recipe file {path}"
    names = _recipes()
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    if close:
        options = close[0] if len(close) == 1 else f"{', '.join(close[:-1])} or {close[-1]}"
        return f"no recipe {name!r}; did you mean {options}? (`kzoo train` lists every name)"
    if len(names) <= 8:
        return f"no recipe {name!r}; the recipes are {', '.join(names)}"
    return f"no recipe {name!r}; `kzoo train` lists the {len(names)} names"


def _checkpoint_dataset(model, path, requested):
    """The dataset of a checkpoint: ``requested`` if its classes are the ones the model learned, else its own
    (``kzoo.export.labels.model_dataset``, from the record ``kzoo.load_checkpoint`` attached)."""
    from kzoo.data.checkpoint_record import record_of
    from kzoo.export.labels import model_dataset

    dataset = model_dataset(model, requested)
    if record_of(model) is None and requested is None:
        # Not an error (checkpoints saved outside kzoo's training have no record), but never a silent choice.
        print(f"kzoo: note: {path} does not record its dataset (it was not saved by kzoo's training); using the "
              f"classes of {dataset}. Pass --dataset to choose.", file=sys.stderr)
    return dataset


def _cmd_train(args, extra):
    recipe = args.recipe
    if recipe is None or recipe in ("-h", "--help"):
        print("usage: kzoo train NAME [recipe arguments]   (kzoo train NAME --help lists them with their defaults)")
        print("names: " + " ".join(_recipes()))
        raise SystemExit(0 if recipe is not None or {"-h", "--help"} & set(extra) else ERROR_STATUS)
    recipe, preset = RECIPE_ALIASES.get(recipe, (recipe, []))
    path = recipe if recipe.endswith(".py") else os.path.join(RECIPES_DIR, f"{recipe}.py")
    if not os.path.exists(path):
        raise ValueError(_no_recipe_message(args.recipe, path))
    sys.argv = [path, *preset, *extra]
    # The recipe's parser calls itself `kzoo train NAME` (its usage) and refuses in kzoo's one line.
    recipe_args.COMMAND_PROG = f"kzoo train {args.recipe}"
    try:
        runpy.run_path(path, run_name="__main__")
    finally:
        recipe_args.COMMAND_PROG = None


def _cmd_evaluate(args):
    from kzoo.evaluation import evaluate_split, write_report
    from kzoo.models.weights import check_finite_weights

    model = _load_checkpoint(args.checkpoint)
    check_finite_weights(model)
    dataset = _checkpoint_dataset(model, args.checkpoint, args.dataset)
    results, examples = evaluate_split(model, dataset=dataset, split=args.split, limit=args.limit)
    print(write_report(results, args.out, examples=examples))


def _cmd_export(args):
    from kzoo.export import export_saved_model, export_tflite
    from kzoo.export.labels import dataset_class_names
    from kzoo_cli.predict_command import without_stderr_lines

    if args.quantize and args.format != "tflite":
        raise ValueError(f"--quantize {args.quantize} applies to TFLite files; add --format tflite")
    model = _load_checkpoint(args.checkpoint)
    dataset = _checkpoint_dataset(model, args.checkpoint, args.dataset)
    class_names = dataset_class_names(model, dataset)
    if args.format == "saved_model":
        path = export_saved_model(
            model, args.out, args.name, version=args.version, class_names=class_names, image_masks=args.image_masks,
            max_pixels=args.max_pixels,
        )
    else:
        representative = None
        if args.quantize == "int8":
            from kzoo.export.labels import representative_images

            representative = representative_images(model, dataset)
        path = os.path.join(args.out, f"{args.name}{'' if not args.quantize else '_' + args.quantize}.tflite")
        with contextlib.nullcontext() if args.verbose else without_stderr_lines(CONVERTER_NOISE):
            export_tflite(model, path, quantize=args.quantize, representative_data=representative,
                          class_names=class_names, image_masks=args.image_masks)
    print(f"exported {path}")


def _cmd_predict(args):
    from kzoo_cli.predict_command import predict

    predict(args.artifact, args.images, args.out, args.score_threshold, verbose=args.verbose)


def _cmd_quickstart(args):
    from kzoo.quickstart import run_quickstart

    run_quickstart(out_dir=args.out, minutes=args.minutes, saved_models_dir=args.saved_models, dataset=args.dataset)


def _cmd_tradeoffs(args):
    from kzoo.tradeoffs import expand_grid, grid, plot_latency_vs_ap, plot_proposals, run_tradeoffs

    cells = expand_grid(
        args.models or grid.DEFAULT_MODELS, args.backbones or grid.DEFAULT_BACKBONES, args.sizes or grid.DEFAULT_SIZES,
        args.proposals or grid.DEFAULT_PROPOSALS,
    )
    rows = run_tradeoffs(
        cells, args.out, dataset=args.dataset, train_minutes=args.train_minutes, checkpoints=args.checkpoints,
        formats=args.formats, repeats=args.repeats, test_limit=args.test_limit, clock=args.clock,
    )
    stem = os.path.splitext(args.out)[0]
    print(f"wrote {args.out}, {plot_latency_vs_ap(rows, stem + '_pareto.png')} and "
          f"{plot_proposals(rows, stem + '_proposals.png')}")


def build_parser():
    parser = CommandParser(
        prog="kzoo", description="A Keras 3 model zoo for CNN applications.",
        epilog="Errors print one line; add --debug to see the traceback.",
    )
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's own log lines")
    parser.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("models", help="list registered models").set_defaults(fn=_cmd_models)
    sub.add_parser("backbones", help="list backbones").set_defaults(fn=_cmd_backbones)

    p = sub.add_parser("datasets", help="list built-in datasets, or draw samples: datasets show NAME --out FILE.png")
    p.add_argument("action", nargs="?", choices=["show"])
    p.add_argument("name", nargs="?")
    p.add_argument("--out", default="samples.png")
    p.add_argument("--split", default="train")
    p.add_argument("--count", type=positive_int, default=12)
    p.set_defaults(fn=_cmd_datasets)

    # No help of its own: `kzoo train NAME --help` is the recipe's help.
    p = sub.add_parser("train", add_help=False, help="train a model with its recipe (kzoo train NAME --help)")
    p.add_argument("recipe", nargs="?", help="a name from `kzoo models`, or a path to a recipe .py file")
    p.set_defaults(fn=_cmd_train, passes_extra=True)

    p = sub.add_parser("evaluate", help="evaluate a .keras checkpoint; prints a table and writes pictures")
    p.add_argument("checkpoint")
    p.add_argument("--dataset", default=None,
                   help="a name or dataset folder; default: the one the checkpoint learned from")
    p.add_argument("--split", default="test")
    p.add_argument("--limit", type=positive_int, default=None, help="evaluate only the first N examples")
    p.add_argument("--out", default="evaluation")
    p.set_defaults(fn=_cmd_evaluate)

    p = sub.add_parser("export", help="export a .keras checkpoint as a SavedModel (TF Serving) or TFLite file")
    p.add_argument("checkpoint")
    p.add_argument("--name", required=True,
                   help="served model name: writes OUT/NAME/VERSION/ (SavedModel) or OUT/NAME[_QUANTIZE].tflite")
    p.add_argument("--format", choices=["saved_model", "tflite"], default="saved_model")
    p.add_argument("--quantize", choices=["float16", "int8"], default=None, help="TFLite only")
    p.add_argument("--version", type=positive_int, default=None, help="default: next free version")
    p.add_argument("--dataset", default=None,
                   help="class names and int8 calibration images; default: the checkpoint's own dataset")
    p.add_argument("--out", default="saved_models")
    p.add_argument("--max-pixels", type=positive_int, default=40_000_000,
                   help="SavedModel: the largest request image (height x width) served")
    p.add_argument("--image-masks", action="store_true",
                   help="mask models: also return detection_image_masks, pasted at the image's size")
    p.set_defaults(fn=_cmd_export)

    p = sub.add_parser("predict", help="run a SavedModel directory or .tflite file on images; writes pictures")
    p.add_argument("artifact")
    p.add_argument("images", nargs="+")
    p.add_argument("--out", default="predictions")
    p.add_argument("--score-threshold", type=non_negative_float, default=0.3)
    p.set_defaults(fn=_cmd_predict)

    p = sub.add_parser("quickstart", help="train a detector for a few minutes, evaluate, export both ways, predict")
    p.add_argument("--out", default="kzoo_quickstart")
    p.add_argument("--saved-models", default="saved_models")
    p.add_argument("--minutes", type=positive_float, default=3.0, help="training budget (wall clock)")
    p.add_argument("--dataset", default="shapes", help="a detection dataset (shapes/tiny for a smoke run)")
    p.set_defaults(fn=_cmd_quickstart)

    p = sub.add_parser("tradeoffs", help="speed/accuracy grid: latency, FLOPs, memory and AP of detector configurations")
    # Defaults live in kzoo.tradeoffs.grid (importing it here would load TensorFlow for --help).
    p.add_argument("--models", nargs="+", default=None,
                   help="meta-architectures (default: ssd retinanet faster_rcnn faster_rcnn_c4 rfcn yolo)")
    p.add_argument("--backbones", nargs="+", default=None, help="default: tiny mobilenet_v2 resnet50")
    p.add_argument("--sizes", nargs="+", type=positive_int, default=None, help="square image sizes (default: 128 256)")
    p.add_argument("--proposals", nargs="+", type=positive_int, default=None,
                   help="proposal counts of the region-based models (default: 50 300)")
    p.add_argument("--dataset", default="shapes", help="trained and scored on (its test split)")
    p.add_argument("--train-minutes", type=non_negative_float, default=0.0, help="train each configuration this long (0: none)")
    p.add_argument("--checkpoints", default=None, help="trained models, <model>_<backbone>_<size>.keras")
    p.add_argument("--formats", nargs="+", default=["keras", "saved_model", "tflite_fp32", "tflite_int8"],
                   choices=["keras", "saved_model", "tflite_fp32", "tflite_int8"])
    p.add_argument("--repeats", type=positive_int, default=20, help="timed calls per format")
    p.add_argument("--test-limit", type=positive_int, default=None, help="score on the first N test images")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="how the training budget is measured")
    p.add_argument("--out", default="tradeoffs/results.csv", help="results CSV (a rerun extends it)")
    p.set_defaults(fn=_cmd_tradeoffs)
    return parser


def main(argv=None):
    """Run a subcommand. A failure prints one line, ``kzoo: error: ...``, and exits with status 1
    (``--debug`` anywhere on the line shows the traceback instead)."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    if debug:
        argv.remove("--debug")
    args, extra = parser.parse_known_args(argv)
    if not getattr(args, "passes_extra", False) and extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    asks_recipe_help = getattr(args, "passes_extra", False) and {"-h", "--help"} & set(extra)
    if not args.verbose and not asks_recipe_help:
        _quiet_tensorflow()
    try:
        return args.fn(args, extra) if getattr(args, "passes_extra", False) else args.fn(args)
    except Exception as error:  # noqa: BLE001  (the command line answers in one line; --debug shows more)
        if debug:
            raise
        print(f"kzoo: error: {error_message(error)}", file=sys.stderr)
        raise SystemExit(ERROR_STATUS) from None


if __name__ == "__main__":
    main()
