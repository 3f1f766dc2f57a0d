"""The timing loop the op benchmarks share: ``kzoo.tradeoffs.measure.interleaved_times_ms`` over positional calls."""

import statistics

from kzoo.tradeoffs.measure import interleaved_times_ms


def alternating_median_ms(fns, args, repeats, warmup=3):
    """Median wall time in milliseconds of each ``fn(*args)``, outputs fetched to NumPy.

    The callables run in alternation, one call of each per round, so that load from other
    processes falls on all of them alike; ``warmup`` untimed calls of each come first (tracing).
    """
    times = interleaved_times_ms({i: (lambda fn=fn: fn(*args)) for i, fn in enumerate(fns)}, repeats, warmup)
    return [statistics.median(times[i]) for i in range(len(fns))]
