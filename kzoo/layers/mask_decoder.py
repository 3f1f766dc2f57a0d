"""Mask R-CNN's test-time masks: each detection's class channel, through a sigmoid."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="kzoo")
class MaskDecoder(keras.layers.Layer):
    """Pick every detection's own class mask and turn its logits into probabilities.

    The mask head predicts one mask per class; at test time a detection keeps
    the mask of the class the box head gave it (a one-hot product, so the op
    stays a TFLite builtin), through a sigmoid. A class-agnostic head (one
    channel) gives every detection that channel.

    Call arguments:
        inputs: ``[mask_logits [N, K, h, w, C], classes int [N, K]]``.

    Returns:
        ``detection_masks`` float32 [N, K, h, w], box-relative probabilities.

    Reference:
        He et al., "Mask R-CNN", ICCV 2017 (section 3.1, inference).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def call(self, inputs):
        mask_logits, classes = inputs
        mask_logits = tf.cast(mask_logits, tf.float32)
        channels = mask_logits.shape[-1]
        if channels == 1:
            return tf.sigmoid(mask_logits[..., 0])
        own = tf.one_hot(tf.cast(classes, tf.int32), channels, dtype=tf.float32)
        return tf.sigmoid(tf.reduce_sum(mask_logits * own[:, :, None, None, :], axis=-1))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:4])
