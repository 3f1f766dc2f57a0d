"""Optimizers: Keras's, with their per-variable update in one fused TF kernel."""

from kzoo.optimizers.fused_adam import FusedAdam
