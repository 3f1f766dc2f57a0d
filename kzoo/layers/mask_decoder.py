"""Mask R-CNN's test-time masks: each detection's class channel, through a sigmoid."""

import keras
import tensorflow as tf

from kzoo.ops import boxes as box_ops


@keras.saving.register_keras_serializable(package="kzoo")
class MaskDecoder(keras.layers.Layer):
    """Pick every detection's own class mask and turn its logits into probabilities.

    The mask head predicts one mask per class; at test time a detection keeps
    the mask of the class the box head gave it (a one-hot product, so the op
    stays a TFLite builtin), through a sigmoid. A class-agnostic head (one
    channel) gives every detection that channel. Padding rows (past
    ``num_detections``: all-zero boxes) get all-zero masks.

    Call arguments:
        inputs: ``[mask_logits [N, K, h, w, C], classes int [N, K], boxes [N, K, 4]]``
            (without ``boxes``, padding rows are not zeroed).

    Returns:
        ``detection_masks`` float32 [N, K, h, w], box-relative probabilities.

    Reference:
        He et al., "Mask R-CNN", ICCV 2017 (section 3.1, inference).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def call(self, inputs):
        mask_logits, classes = inputs[:2]
        mask_logits = tf.cast(mask_logits, tf.float32)
        channels = mask_logits.shape[-1]
        if channels == 1:
            logits = mask_logits[..., 0]
        else:
            own = tf.one_hot(tf.cast(classes, tf.int32), channels, dtype=tf.float32)
            logits = tf.reduce_sum(mask_logits * own[:, :, None, None, :], axis=-1)
        masks = tf.sigmoid(logits)
        if len(inputs) < 3:
            return masks
        real = tf.cast(box_ops.area(tf.cast(inputs[2], tf.float32)) > 0.0, tf.float32)
        return masks * real[:, :, None, None]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:4])
