"""How kzoo's Keras losses reduce: a sum divided by a normalizer counted over the global batch.

Detection losses are normalized by a count that depends on the labels (positive
anchors, sampled RoIs, visible keypoints), not by the batch size. Keras reduces
a loss by averaging the per-sample values of each replica
(``"sum_over_batch_size"``), dividing by the number of replicas, and summing the
gradients across replicas. The loss classes therefore return, for each sample
``i`` of a local batch of ``n`` samples on one of ``R`` replicas,

    value_i = sum_i * n * R / normalizer_global

so that Keras's standard reduction gives exactly ``sum_global /
normalizer_global``: the loss and gradients of one device running the whole
global batch, whatever ``tf.distribute`` strategy runs the step. The global
normalizer is an all-reduce of the per-replica counts when a strategy with more
than one replica is active.

The loss *functions* (``sigmoid_focal_loss``, ``rpn_loss``, ...) use only the
tensors they are given: a custom training loop that wants a global normalizer
passes ``reduction="sum"`` and divides by its own all-reduced count.
"""

import tensorflow as tf

FUNCTION_REDUCTIONS = ("none", "sum", "mean")


def check_reduction(reduction, allowed=FUNCTION_REDUCTIONS):
    if reduction not in allowed:
        raise ValueError(f"reduction must be one of {allowed}, got {reduction!r}")


def reduce(values, valid, reduction, normalizer=None):
    """Reduces per-element losses whose ignored elements are already zero.

    ``"mean"`` divides by ``normalizer`` (the number of valid elements unless
    given) and is exactly 0 when nothing is valid.
    """
    check_reduction(reduction)
    if reduction == "none":
        return values
    total = tf.reduce_sum(values)
    if reduction == "sum":
        return total
    if normalizer is None:
        normalizer = tf.reduce_sum(tf.cast(valid, values.dtype))
    return tf.math.divide_no_nan(total, tf.cast(normalizer, values.dtype))


def num_replicas():
    return tf.distribute.get_strategy().num_replicas_in_sync


def global_sum(value):
    """Sum of ``value`` over the replicas of the active strategy (itself without one)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def per_sample_sum(values):
    """Sum over every axis but the first: [N, ...] -> [N]."""
    values = tf.convert_to_tensor(values)
    if values.shape.rank == 1:
        return values
    return tf.reduce_sum(values, axis=list(range(1, values.shape.rank)))


def spread_over_batch(sums, normalizer, minimum=0.0):
    """Per-sample values whose Keras reduction is ``sum(sums) / global normalizer``.

    Args:
        sums: [N] per-sample sums of the loss on this replica.
        normalizer: scalar count on this replica; it is summed over replicas.
        minimum: lower bound of the global normalizer (1 for RetinaNet's
            ``max(1, num_positives)``). With 0, a zero normalizer gives 0.

    Returns:
        [N] values to be averaged by Keras's ``"sum_over_batch_size"``.
    """
    dtype = sums.dtype
    normalizer = tf.stop_gradient(global_sum(tf.cast(normalizer, dtype)))
    normalizer = tf.maximum(normalizer, tf.cast(minimum, dtype))
    scale = tf.cast(tf.shape(sums)[0] * num_replicas(), dtype)
    return tf.math.divide_no_nan(sums * scale, normalizer)


def labels_from_float(y_true):
    """Keras casts integer targets to the loss dtype; recover the integer labels."""
    if y_true.dtype.is_integer:
        return tf.cast(y_true, tf.int32)
    return tf.cast(tf.round(y_true), tf.int32)
