"""Training on several machines: ``MultiWorkerMirroredStrategy`` with Keras 3's ``fit``, and who writes files.

Keras 3 (through at least 3.15) cannot ``fit`` under
``tf.distribute.MultiWorkerMirroredStrategy`` (keras-team/keras#20585): two
steps of its TensorFlow trainer pass per-replica values to the strategy's
eager cross-worker reduction in ways it refuses.

1. Before the first step, ``_maybe_symbolic_build`` takes the mean of the
   first distributed batch across workers, only to learn the input shapes,
   and the eager collective refuses a ``PerReplica`` value. The local
   replica's batch has the same shapes.
2. ``reduce_per_replica`` averages the logs across workers with
   ``axis=0``, which fails for scalar logs (the loss and every metric).
   Scalars are averaged without an axis.

``enable_multi_worker_fit`` replaces those two functions with versions that
do this, once per process, and only when a multi-worker strategy is made
(``kzoo.training.strategy.make_strategy``). Everything else, gradients
included, goes through Keras and TensorFlow unchanged, and the tests check
the result: two workers train to the same weights as one worker on the
global batch.

Files: every worker runs the same ``fit``, but only the chief writes
checkpoints, history and logs, as TensorFlow's fault-tolerance pattern
asks. All workers restore from the chief's backup, so ``out_dir`` must be
on storage that every worker reads (a shared disk, or one machine in the
tests).
"""

import json
import os

import tensorflow as tf

_ENABLED = False


def enable_multi_worker_fit():
    """Let ``keras.Model.fit`` run under ``MultiWorkerMirroredStrategy`` (module docstring); idempotent."""
    global _ENABLED
    if _ENABLED:
        return
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer

    def local_value(value, strategy):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        if self._distribute_strategy is None:
            return
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tree.map_structure(lambda v: local_value(v, self.distribute_strategy), next(batches))
                break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    keras_reduce = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction not in ("auto", "mean") or not trainer._collective_all_reduce_multi_worker(strategy):
            return keras_reduce(values, strategy, reduction)

        def mean(value):
            if not trainer._is_per_replica_instance(value):
                return value
            rank = strategy.experimental_local_results(value)[0].shape.rank
            return strategy.reduce("MEAN", value, axis=0 if rank else None)

        return tree.map_structure(mean, values)

    trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    trainer.reduce_per_replica = reduce_per_replica
    _ENABLED = True


def is_chief():
    """Whether this process writes the run's files: the only process, the ``chief`` task, or worker 0 without one."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    cluster, task = config.get("cluster", {}), config.get("task", {})
    if len(cluster.get("worker", [])) + len(cluster.get("chief", [])) <= 1:
        return True
    if "chief" in cluster:
        return task.get("type") == "chief"
    return task.get("type", "worker") == "worker" and int(task.get("index", 0)) == 0
