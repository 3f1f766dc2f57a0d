"""Training: strategies, pipelines, callbacks and the ``train`` loop recipes share."""

from kzoo.metrics.replica_usage import ReplicaUsage  # re-exported: it lives in kzoo.metrics
from kzoo.training.budget import Clock, TimeBudget
from kzoo.training.callbacks import NaNGuard, standard_callbacks
from kzoo.training.pipeline import fit_dataset
from kzoo.training.recipe import recipe_parser, train_recipe
from kzoo.training.strategy import make_strategy, split_cpu
from kzoo.training.trainer import train
