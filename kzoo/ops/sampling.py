"""Balanced sampling of positive and negative anchors (or RoIs) for training.

Faster R-CNN trains its RPN on 256 anchors per image with at most half of
them positive, and its second stage on 512 RoIs with at most a quarter
positive. ``sample_balanced`` draws such a subset for every image of a batch
at once, without per-image loops, and is deterministic given its seed.
"""

import tensorflow as tf


def _seed_pair(seed):
    if isinstance(seed, int):
        return tf.constant([seed, 0], tf.int64)
    seed = tf.reshape(tf.convert_to_tensor(seed), [2])
    return seed if seed.dtype in (tf.int32, tf.int64) else tf.cast(seed, tf.int64)


def _take_largest(keys, k, limit):
    """Mask [N, A] of at most ``limit[n]`` entries with the largest non-negative keys.

    Returns the mask and the number taken per row. Top-k indices within a row
    are distinct, so the scatter never adds two updates into one slot.
    """
    values, indices = tf.math.top_k(keys, k=k, sorted=True)
    take = tf.logical_and(values >= 0.0, tf.range(k)[None, :] < limit[:, None])
    rows = tf.broadcast_to(tf.range(tf.shape(keys)[0])[:, None], tf.shape(indices))
    counts = tf.scatter_nd(tf.stack([rows, indices], axis=-1), tf.cast(take, tf.int32), tf.shape(keys))
    return counts > 0, tf.reduce_sum(tf.cast(take, tf.int32), axis=-1)


def _clamp_k(k, num_anchors, labels):
    if num_anchors is not None:
        return min(k, num_anchors)
    return tf.minimum(k, tf.shape(labels)[-1])


def sample_balanced(labels, num_samples, positive_fraction=0.5, seed=0):
    """Sample up to ``num_samples`` entries per row, at most a fraction of them positive.

    As in Faster R-CNN (and torchvision's ``BalancedPositiveNegativeSampler``):
    ``num_pos = min(#positives, int(num_samples * positive_fraction))`` positives
    are drawn uniformly at random, then ``min(#negatives, num_samples - num_pos)``
    negatives fill the rest.

    Args:
        labels: int [N, A] as ``match_boxes`` returns: ``>= 0`` positive, -1
            negative, anything else (-2 ignore) never sampled.
        num_samples: samples per row.
        positive_fraction: largest share of positives, in [0, 1].
        seed: int, or a shape [2] integer tensor (a stateless seed). The same
            seed and labels always give the same sample.

    Returns:
        ``(positive_mask, negative_mask)``, two bool [N, A].
    """
    if not 0.0 <= positive_fraction <= 1.0:
        raise ValueError(f"positive_fraction must be in [0, 1], got {positive_fraction}")
    labels = tf.convert_to_tensor(labels)
    positive = labels >= 0
    negative = tf.equal(labels, -1)
    num_anchors = labels.shape[-1]
    keys = tf.random.stateless_uniform(tf.shape(labels), seed=_seed_pair(seed))

    # Keys are in [0, 1); -1 marks entries of the other kind, which sort last.
    batch = tf.shape(labels)[:1]
    max_positives = int(num_samples * positive_fraction)
    pos_keys = tf.where(positive, keys, -1.0)
    positive_mask, num_pos = _take_largest(
        pos_keys, _clamp_k(max_positives, num_anchors, labels), tf.fill(batch, max_positives)
    )
    neg_keys = tf.where(negative, keys, -1.0)
    negative_mask, _ = _take_largest(neg_keys, _clamp_k(num_samples, num_anchors, labels), num_samples - num_pos)
    return positive_mask, negative_mask
