"""Image classification: backbone features, then fully connected to class scores."""

import keras
import tensorflow as tf
from keras import layers

from kzoo.backbones import build_backbone
from kzoo.metrics.replica_usage import ReplicaUsage
from kzoo.optimizers import FusedAdam


def build_classifier(num_classes, backbone="tiny", input_shape=(64, 64, 3), weights=None, dropout=0.2, hidden_units=0):
    """The lecture's "so far: image classification" network.

    Features of the backbone's coarsest level are pooled globally and mapped
    by fully connected layers to class scores (AlexNet: 4096 to 1000).

    Args:
        num_classes: number of classes.
        backbone: a name from ``kzoo.backbones.list_backbones()``.
        input_shape: (H, W, 3) of the float RGB images in [0, 255].
        weights: backbone weights (None, ``"imagenet"`` or a file path).
        dropout: dropout rate before the last fully connected layer.
        hidden_units: width of an optional hidden fully connected layer (0: none).

    Returns:
        A functional ``keras.Model`` named ``"classifier"`` mapping images to
        class logits [N, num_classes].
    """
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    features = build_backbone(backbone, input_shape, weights=weights)

    images = keras.Input(input_shape, name="images")
    x = features(images)["P5"]
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    if hidden_units:
        x = layers.Dense(hidden_units, activation="relu", name="fc_hidden")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(images, logits, name="classifier")


def compile_classifier(model, strategy=None, learning_rate=2e-3):
    """The standard compile: softmax cross-entropy on logits, Adam, accuracy.

    With a ``strategy``, a ``ReplicaUsage`` metric also reports the examples
    each replica computed.
    """
    metrics = ["accuracy"]
    if strategy is not None:
        metrics.append(ReplicaUsage(strategy.num_replicas_in_sync))
    model.compile(
        optimizer=FusedAdam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=metrics,
    )


def classifier_targets(element, image_size):
    """Dataset element -> (image resized to ``image_size``, class of its first object), for ``model.fit``."""
    image = tf.image.resize(tf.cast(element["image"], tf.float32), image_size)
    return image, element["classes"][0]


def decode_classifier(model, logits):
    """Raw logits -> classification predictions (``probabilities``, ``classes``)."""
    probabilities = tf.nn.softmax(logits, axis=-1)
    return {"probabilities": probabilities, "classes": tf.argmax(probabilities, axis=-1, output_type=tf.int32)}
