"""Training within a time budget, shared by the training benchmarks, and their common command line.

``TimeBudget`` is a Keras callback: the learning rate follows a cosine from
its start value to 0 over the budget (after an optional linear warm-up), and
training stops when the budget is spent, or, with ``whole_epochs``, when the
next epoch would overrun it. ``Clock`` measures the budget by the wall or by
process CPU time over the usable cores (for machines shared with other jobs).
"""

import argparse
import json
import math
import os
import time

import keras


class Clock:
    """Seconds since start, by the wall or by process CPU time over the usable cores."""

    def __init__(self, kind="wall"):
        if kind not in ("wall", "cpu"):
            raise ValueError(f"clock must be 'wall' or 'cpu', got {kind!r}")
        self.kind = kind
        self.cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        self.start_wall, self.start_cpu = time.monotonic(), time.process_time()

    def wall(self):
        return time.monotonic() - self.start_wall

    def cpu(self):
        return time.process_time() - self.start_cpu

    def elapsed(self):
        return self.wall() if self.kind == "wall" else self.cpu() / self.cores


class TimeBudget(keras.callbacks.Callback):
    """Cosine learning-rate decay over ``budget_s`` seconds, then stop.

    Args:
        budget_s: training seconds, by ``clock``.
        clock: "wall" or "cpu" (see ``Clock``).
        base_learning_rate: the start value; the optimizer's when None.
        warmup_steps: linear warm-up over the first steps (0: none).
        whole_epochs: also stop after an epoch when the next one would not
            fit in the budget (a single overlong epoch still stops mid-way).

    ``steps`` counts the batches trained and ``epochs`` the finished epochs.
    """

    def __init__(self, budget_s, clock="wall", base_learning_rate=None, warmup_steps=0, whole_epochs=False):
        super().__init__()
        self.budget_s = budget_s
        self.clock_kind = clock
        self.base_learning_rate = base_learning_rate
        self.warmup_steps = warmup_steps
        self.whole_epochs = whole_epochs
        self.steps = 0
        self.epochs = 0

    def on_train_begin(self, logs=None):
        self.clock = Clock(self.clock_kind)
        if self.base_learning_rate is None:
            self.base_learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_train_batch_begin(self, batch, logs=None):
        fraction = min(self.clock.elapsed() / self.budget_s, 1.0)
        warmup = min(1.0, (self.steps + 1) / self.warmup_steps) if self.warmup_steps else 1.0
        rate = self.base_learning_rate * warmup * 0.5 * (1.0 + math.cos(math.pi * fraction))
        self.model.optimizer.learning_rate.assign(rate)

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.clock.elapsed() >= self.budget_s:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.epochs = epoch + 1
        if self.whole_epochs and self.clock.elapsed() * (self.epochs + 1) / self.epochs > self.budget_s:
            self.model.stop_training = True


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
