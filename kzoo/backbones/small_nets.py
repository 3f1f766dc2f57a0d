"""Backbones kzoo defines itself: the lecture's AlexNet-like net and a tiny test net."""

import keras
from keras import layers

from kzoo.layers.fused_batch_normalization import FusedBatchNormalization
from kzoo.layers.image_preprocessing import ImagePreprocessing


def _conv(x, filters, kernel, strides, name):
    return layers.Conv2D(filters, kernel, strides=strides, padding="same", activation="relu", name=name)(x)


def build_alexnet_features(input_shape):
    """AlexNet's five conv layers (Krizhevsky et al. 2012), "same" padding.

    conv1 11x11/4 (96) and pool1 give strides 4 and 8, conv2 5x5 (256) + pool2
    stride 16, conv3-5 3x3 (384, 384, 256) + pool5 stride 32. Local response
    normalization is replaced by batch normalization, which trains from scratch
    more reliably.
    """
    images = keras.Input(input_shape, name="images")
    x = ImagePreprocessing("unit", name="preprocess")(images)
    x = _conv(x, 96, 11, 4, "conv1")
    x = FusedBatchNormalization(name="bn1")(x)
    p2 = x
    x = layers.MaxPooling2D(3, 2, padding="same", name="pool1")(x)
    x = _conv(x, 256, 5, 1, "conv2")
    p3 = FusedBatchNormalization(name="bn2")(x)
    x = layers.MaxPooling2D(3, 2, padding="same", name="pool2")(p3)
    x = _conv(x, 384, 3, 1, "conv3")
    x = _conv(x, 384, 3, 1, "conv4")
    p4 = _conv(x, 256, 3, 1, "conv5")
    p5 = layers.MaxPooling2D(3, 2, padding="same", name="pool5")(p4)
    return keras.Model(images, {"P2": p2, "P3": p3, "P4": p4, "P5": p5}, name="alexnet_backbone")


def build_tiny_features(input_shape):
    """Five stages of a stride-2 and a stride-1 3x3 conv (16 to 96 channels, ~0.1M weights).

    Small enough for fast tests and CPU training, large enough to learn the
    built-in datasets.
    """
    images = keras.Input(input_shape, name="images")
    x = ImagePreprocessing("unit", name="preprocess")(images)
    features = {}
    for level, filters in zip(range(1, 6), (16, 24, 32, 48, 96)):
        for step, strides in ((1, 2), (2, 1)):
            name = f"conv{level}_{step}"
            x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False, name=name)(x)
            x = FusedBatchNormalization(name=f"{name}_bn")(x)
            x = layers.ReLU(name=f"{name}_relu")(x)
        if level >= 2:
            features[f"P{level}"] = x
    return keras.Model(images, features, name="tiny_backbone")
