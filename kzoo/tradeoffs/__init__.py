"""Speed/accuracy trade-offs (Huang et al. 2017) on your own machine and data: ``kzoo tradeoffs``.

A grid of meta-architectures x backbones x image sizes (x proposal counts
for the region-based models) is measured cell by cell: parameters, FLOPs,
peak memory, latency of every export format, and AP when trained. Results
are resumable CSV/JSON; two pictures draw latency against AP with the
Pareto frontier, and AP and latency against the number of proposals.
"""

from kzoo.tradeoffs import grid
from kzoo.tradeoffs.grid import ARCHITECTURES, Cell, build_cell, expand_grid
from kzoo.tradeoffs.harness import FORMATS, read_results, run_tradeoffs
from kzoo.tradeoffs.measure import flops_per_image, function_flops, interleaved_latency_ms, parameter_count, peak_memory_mb
from kzoo.tradeoffs.plots import pareto_frontier, plot_latency_vs_ap, plot_proposals

__all__ = [
    "ARCHITECTURES",
    "Cell",
    "FORMATS",
    "build_cell",
    "expand_grid",
    "flops_per_image",
    "function_flops",
    "grid",
    "interleaved_latency_ms",
    "pareto_frontier",
    "parameter_count",
    "peak_memory_mb",
    "plot_latency_vs_ap",
    "plot_proposals",
    "read_results",
    "run_tradeoffs",
]
