"""Balanced sampler: counts, categories, determinism and uniformity."""

import numpy as np
import pytest
import tensorflow as tf

from kzoo.ops import sampling


def make_labels(rng, batch, anchors, positives, negatives):
    labels = np.full((batch, anchors), -2, np.int32)
    for n in range(batch):
        order = rng.permutation(anchors)
        labels[n, order[: positives[n]]] = rng.integers(0, 4, positives[n])
        labels[n, order[positives[n] : positives[n] + negatives[n]]] = -1
    return labels


@pytest.mark.parametrize(
    "positives,negatives,num_samples,fraction",
    [([40, 3, 0], [200, 200, 200], 64, 0.25), ([100, 50, 10], [5, 0, 30], 32, 0.5), ([0, 1, 2], [0, 1, 2], 16, 1.0)],
)
def test_counts_and_categories(positives, negatives, num_samples, fraction):
    rng = np.random.default_rng(0)
    labels = make_labels(rng, 3, 400, positives, negatives)
    pos, neg = (m.numpy() for m in sampling.sample_balanced(labels, num_samples, fraction, seed=3))
    for n in range(3):
        want_pos = min(positives[n], int(num_samples * fraction))
        want_neg = min(negatives[n], num_samples - want_pos)
        assert pos[n].sum() == want_pos and neg[n].sum() == want_neg
        assert np.all(labels[n][pos[n]] >= 0) and np.all(labels[n][neg[n]] == -1)
    assert not np.any(pos & neg)


def test_deterministic_given_seed():
    labels = make_labels(np.random.default_rng(1), 2, 300, [80, 80], [150, 150])
    a = sampling.sample_balanced(labels, 32, 0.5, seed=7)
    b = sampling.sample_balanced(labels, 32, 0.5, seed=7)
    c = sampling.sample_balanced(labels, 32, 0.5, seed=8)
    np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
    np.testing.assert_array_equal(a[1].numpy(), b[1].numpy())
    assert not np.array_equal(a[0].numpy(), c[0].numpy())
    # Images of a batch draw independently.
    same_labels = np.repeat(labels[:1], 2, axis=0)
    pos, _ = sampling.sample_balanced(same_labels, 32, 0.5, seed=7)
    assert not np.array_equal(pos[0].numpy(), pos[1].numpy())


def test_positives_drawn_uniformly():
    # 10 positives, 5 drawn per image: each is drawn with probability 1/2. Over 400
    # independent images the count is Binomial(400, 0.5): mean 200, standard deviation 10.
    labels = np.full((400, 50), -2, np.int32)
    labels[:, ::5] = 0
    pos, _ = sampling.sample_balanced(labels, 10, 0.5, seed=11)
    counts = pos.numpy().sum(0)
    assert np.all(counts[1::5] == 0)
    assert np.all(np.abs(counts[::5] - 200) < 50)  # 5 standard deviations


def test_graph_mode_with_dynamic_shape_and_tensor_seed():
    labels = make_labels(np.random.default_rng(2), 2, 100, [30, 5], [60, 60])
    fn = tf.function(
        lambda labels, seed: sampling.sample_balanced(labels, 20, 0.5, seed),
        input_signature=[tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((2,), tf.int64)],
    )
    pos, neg = fn(labels, tf.constant([5, 0], tf.int64))
    eager_pos, eager_neg = sampling.sample_balanced(labels, 20, 0.5, seed=5)
    np.testing.assert_array_equal(pos.numpy(), eager_pos.numpy())
    np.testing.assert_array_equal(neg.numpy(), eager_neg.numpy())
    np.testing.assert_array_equal(pos.numpy().sum(1), [10, 5])
    np.testing.assert_array_equal(neg.numpy().sum(1), [10, 15])
