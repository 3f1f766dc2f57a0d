"""R-CNN's post-hoc losses: one-vs-rest linear SVMs with hard negatives, and least-squares box regression."""

import tensorflow as tf


def svm_hinge_loss(scores, labels, hard_negative_ratio=3.0, min_negatives=16):
    """Per-image hinge loss of one-vs-rest SVM scores, over positives and the hardest negatives.

    For class ``c``, a region labelled ``c`` is a positive (target +1) and a
    background region (label -1) a negative (target -1); regions of other
    classes and left-out ones (-2) do not count for ``c``. Each term is
    ``max(0, 1 - y s)``. As R-CNN's hard negative mining does, only the
    negatives the SVMs get most wrong are kept: per image, the
    ``max(hard_negative_ratio * positives, min_negatives)`` (region, class)
    pairs with the largest hinge.

    Args:
        scores: float [N, S, C] SVM scores.
        labels: int [N, S]: class id, -1 background, -2 left out.
        hard_negative_ratio: negatives kept per positive.
        min_negatives: negatives kept in an image with few or no positives.

    Returns:
        float32 [N]: each image's hinge sum over its positives and kept
        negatives, divided by their number (0 when there are none).
    """
    scores = tf.cast(scores, tf.float32)
    labels = tf.cast(labels, tf.int32)
    num_classes = scores.shape[-1]
    own_class = (tf.one_hot(tf.maximum(labels, 0), num_classes) > 0.5) & (labels >= 0)[..., None]
    background = tf.broadcast_to((labels == -1)[..., None], tf.shape(scores))
    positive_hinge = tf.where(own_class, tf.nn.relu(1.0 - scores), 0.0)
    negative_hinge = tf.where(background, tf.nn.relu(1.0 + scores), -1.0)
    num_positive = tf.reduce_sum(tf.cast(own_class, tf.float32), axis=[1, 2])

    flat = tf.reshape(negative_hinge, [tf.shape(scores)[0], -1])
    ranked, _ = tf.math.top_k(flat, k=flat.shape[-1] if flat.shape[-1] is not None else tf.shape(flat)[-1])
    keep = tf.maximum(hard_negative_ratio * num_positive, float(min_negatives))
    kept = (tf.cast(tf.range(tf.shape(ranked)[-1]), tf.float32)[None, :] < keep[:, None]) & (ranked >= 0.0)
    negative_sum = tf.reduce_sum(tf.where(kept, ranked, 0.0), axis=-1)
    count = num_positive + tf.reduce_sum(tf.cast(kept, tf.float32), axis=-1)
    return tf.math.divide_no_nan(tf.reduce_sum(positive_hinge, axis=[1, 2]) + negative_sum, count)


def box_least_squares_loss(box_deltas, labels, box_targets):
    """Per-image squared error of the positives' deltas of their own class (R-CNN's box regression).

    Args:
        box_deltas: float [N, S, C, 4] class-specific deltas.
        labels: int [N, S]: class id for positives, negative otherwise.
        box_targets: float [N, S, 4].

    Returns:
        float32 [N]: the sum over positives of the squared error, divided by
        the number of positives (0 without any).
    """
    box_deltas = tf.cast(box_deltas, tf.float32)
    labels = tf.cast(labels, tf.int32)
    positive = labels >= 0
    own = tf.gather(box_deltas, tf.maximum(labels, 0), batch_dims=2)
    error = tf.reduce_sum(tf.square(own - tf.cast(box_targets, tf.float32)), axis=-1)
    error = tf.where(positive, error, 0.0)
    return tf.math.divide_no_nan(tf.reduce_sum(error, axis=-1), tf.reduce_sum(tf.cast(positive, tf.float32), axis=-1))
