"""Confusion matrix, precision, recall and F1: hand cases, a NumPy reference, streaming metrics."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kzoo.metrics import (
    ConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
    classification_report,
    confusion_matrix,
    precision_recall_f1,
)


def reference_scores(y_true, y_pred, num_classes):
    """Per-class precision/recall/F1 by counting, straight from the definitions."""
    out = []
    for c in range(num_classes):
        tp = np.sum((y_pred == c) & (y_true == c))
        fp = np.sum((y_pred == c) & (y_true != c))
        fn = np.sum((y_pred != c) & (y_true == c))
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        out.append((p, r, 2 * p * r / (p + r) if p + r else 0.0))
    return np.array(out)


def test_hand_computed_binary_case():
    # 4 positives, 6 negatives; the model finds 3 positives and raises 2 false alarms.
    y_true = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    y_pred = np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 0])
    cm = confusion_matrix(y_true, y_pred, 2)
    np.testing.assert_array_equal(cm, [[4, 2], [1, 3]])  # rows true, columns predicted
    scores = precision_recall_f1(cm)
    assert scores["precision"][1] == pytest.approx(3 / 5)  # TP / (TP + FP)
    assert scores["recall"][1] == pytest.approx(3 / 4)  # TP / (TP + FN)
    assert scores["f1"][1] == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    np.testing.assert_array_equal(scores["support"], [6, 4])
    assert precision_recall_f1(cm, "micro")["precision"] == pytest.approx(0.7)  # = accuracy
    assert precision_recall_f1(cm, "macro")["recall"] == pytest.approx((4 / 6 + 3 / 4) / 2)
    assert precision_recall_f1(cm, "weighted")["recall"] == pytest.approx((6 * 4 / 6 + 4 * 3 / 4) / 10)


def test_against_reference_and_scores_input():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 5, 300)
    logits = rng.normal(size=(300, 5)) + 2 * np.eye(5)[y_true]
    y_pred = logits.argmax(-1)
    cm = confusion_matrix(y_true, logits, 5, sparse_y_pred=False)
    np.testing.assert_array_equal(cm, confusion_matrix(y_true, y_pred, 5))
    np.testing.assert_array_equal(cm, tf.math.confusion_matrix(y_true, y_pred, 5).numpy())  # TF's own op
    ours = precision_recall_f1(cm)
    np.testing.assert_allclose(np.stack([ours["precision"], ours["recall"], ours["f1"]], 1),
                               reference_scores(y_true, y_pred, 5), atol=1e-12)
    report = classification_report(y_true, y_pred, 5)
    assert report["accuracy"] == pytest.approx(np.mean(y_true == y_pred))
    assert report["macro"]["f1"] == pytest.approx(reference_scores(y_true, y_pred, 5)[:, 2].mean())


def test_absent_class_and_ignore_class():
    # Class 2 never occurs: it does not drag the macro average down.
    cm = confusion_matrix([0, 1, 1, 255], [0, 1, 0, 2], 3, ignore_class=255)
    np.testing.assert_array_equal(cm, [[1, 0, 0], [1, 1, 0], [0, 0, 0]])
    assert precision_recall_f1(cm, "macro")["precision"] == pytest.approx((0.5 + 1.0) / 2)
    with pytest.raises(ValueError, match="labels"):
        confusion_matrix([0, 5], [0, 1], 3)


@pytest.mark.parametrize(
    "cls, key", [(MulticlassPrecision, "precision"), (MulticlassRecall, "recall"), (MulticlassF1Score, "f1")]
)
@pytest.mark.parametrize("average", [None, "macro", "micro", "weighted"])
def test_streaming_metrics_equal_functions(cls, key, average):
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 4, (3, 40))
    probs = rng.random((3, 40, 4))
    metric = cls(4, average=average)
    for t, p in zip(y_true, probs):  # three batches
        metric.update_state(t, p)
    expected = precision_recall_f1(confusion_matrix(y_true, probs, 4, sparse_y_pred=False), average)[key]
    np.testing.assert_allclose(metric.result().numpy(), expected, atol=1e-6)
    clone = cls.from_config(metric.get_config())
    assert clone.get_config() == metric.get_config()
    metric.reset_state()
    assert np.all(metric.result().numpy() == 0)


def test_confusion_matrix_metric_in_graph_and_fit():
    metric = ConfusionMatrix(3, sparse_y_pred=True, ignore_class=-1)

    @tf.function
    def update(t, p, w):
        metric.update_state(t, p, sample_weight=w)

    update(tf.constant([0, 1, 2, -1]), tf.constant([0, 2, 2, 1]), tf.constant([1.0, 2.0, 1.0, 5.0]))
    np.testing.assert_array_equal(metric.result().numpy(), [[1, 0, 0], [0, 0, 2], [0, 0, 1]])

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    model.compile("sgd", "sparse_categorical_crossentropy",
                  metrics=[MulticlassPrecision(3), MulticlassRecall(3), MulticlassF1Score(3, average="micro")])
    x = np.random.default_rng(2).normal(size=(16, 4)).astype("float32")
    y = np.arange(16) % 3
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    expected = precision_recall_f1(confusion_matrix(y, model.predict(x, verbose=0), 3, sparse_y_pred=False), "macro")
    assert logs["precision"] == pytest.approx(expected["precision"], abs=1e-5)
    assert logs["recall"] == pytest.approx(expected["recall"], abs=1e-5)
