import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="kzoo")
class ReplicaUsage(keras.metrics.Metric):
    """Counts the examples each replica of a ``tf.distribute`` strategy computed.

    Each replica adds its batch size at its own index; the metric's variable
    is summed across replicas on read, so ``result()`` is the per-replica
    count vector. It shows that every device did work, e.g. that a
    MirroredStrategy really split the batch.

    Args:
        num_replicas: replicas of the strategy (``strategy.num_replicas_in_sync``).

    Call arguments:
        y_true: ignored.
        y_pred: any tensor whose first axis is the replica's batch.

    Returns:
        ``{"replica_<i>_examples": count}`` for each replica ``i``.

    Example:
        >>> model.compile(..., metrics=[ReplicaUsage(strategy.num_replicas_in_sync)])
    """

    def __init__(self, num_replicas=1, name="replica_usage", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_replicas = num_replicas
        self.counts = self.add_variable(shape=(num_replicas,), initializer="zeros", name="counts", aggregation="sum")

    def update_state(self, y_true, y_pred, sample_weight=None):
        context = tf.distribute.get_replica_context()
        replica = 0 if context is None else context.replica_id_in_sync_group
        batch = tf.cast(tf.shape(y_pred)[0], self.dtype)
        self.counts.assign_add(tf.one_hot(replica, self.num_replicas, dtype=self.dtype) * batch)

    def result(self):
        # One scalar per replica, so logs, History and TensorBoard can hold them.
        return {f"replica_{i}_examples": self.counts[i] for i in range(self.num_replicas)}

    def get_config(self):
        return {**super().get_config(), "num_replicas": self.num_replicas}
