"""Training within a time budget: a cosine learning rate over the budget, then stop.

``TimeBudget`` is a Keras callback: the learning rate follows a cosine from
its start value to 0 over the budget (after an optional linear warm-up), and
training stops when the budget is spent, or, with ``whole_epochs``, when the
next epoch would overrun it. ``Clock`` measures the budget by the wall or by
process CPU time over the usable cores (for machines shared with other jobs).
The training benchmarks and ``kzoo tradeoffs`` train this way.
"""

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
