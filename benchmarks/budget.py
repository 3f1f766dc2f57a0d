"""What the training benchmarks share: training within a time budget, saving, their command line.

``Clock`` and ``TimeBudget`` live in ``kzoo.training.budget`` (``kzoo
tradeoffs`` trains with them too) and are re-exported here.
"""

import argparse
import json
import os

from kzoo.training.budget import Clock, TimeBudget  # noqa: F401  (re-exported for the benchmarks)


def save_trained(model, out_dir, name, seed=0):
    """Save ``model`` as ``out_dir/name/best.keras`` (the layout ``benchmarks/export.py --runs`` reads).

    A model trained with another seed than 0 goes to ``out_dir/name_seed<seed>/best.keras``, so the
    export benchmark keeps reading the default run.
    """
    folder = name if seed == 0 else f"{name}_seed{seed}"
    path = os.path.join(out_dir, folder, "best.keras")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    model.save(path)
    return path


def seed_summary(results, key):
    """One line per model that ran with several seeds: the mean, min and max of ``result[key]``."""
    by_model = {}
    for result in results:
        by_model.setdefault(result["model"], []).append(result)
    lines = []
    for name, runs in by_model.items():
        if len(runs) < 2:
            continue
        values = [r[key] for r in runs]
        seeds = ", ".join(f"{r['seed']}: {r[key]:.3f}" for r in runs)
        lines.append(
            f"{name} over {len(runs)} seeds: {key} mean {sum(values) / len(values):.3f}, "
            f"min {min(values):.3f}, max {max(values):.3f} ({seeds})"
        )
    return "\n".join(lines)


def budget_main(description, model_names, run, format_table, argv=None, summary_key=None):
    """The command line of a per-model training benchmark; returns ``run``'s result dicts.

    Parses ``--models`` (from ``model_names``), ``--budget``, ``--clock``,
    ``--test-limit``, ``--seeds``, ``--out``, ``--json`` and ``--verbose``;
    calls ``run(models, budget_s, clock, test_limit, verbose=, out_dir=,
    seeds=)`` and prints ``format_table(results)``, then, where a model ran
    with more than one seed, ``seed_summary(results, key)`` of its metric.
    """
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(model_names), choices=list(model_names))
    parser.add_argument("--budget", type=float, default=900, help="training seconds per model")
    parser.add_argument("--clock", default="wall", choices=("wall", "cpu"))
    parser.add_argument("--test-limit", type=int, default=None, help="score only the first N test images")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="train each model once per seed")
    parser.add_argument("--out", default=None, help="save each trained model as OUT/<model>/best.keras")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument("--verbose", type=int, default=2)
    args = parser.parse_args(argv)
    results = run(
        args.models, args.budget, args.clock, args.test_limit, verbose=args.verbose, out_dir=args.out, seeds=args.seeds
    )
    print()
    print(format_table(results))
    summary = seed_summary(results, summary_key) if summary_key else ""
    if summary:
        print(summary)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1, default=float)
    return results
