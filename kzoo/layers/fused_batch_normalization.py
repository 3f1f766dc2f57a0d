"""Batch normalization whose training step runs TF's fused kernel."""

import keras
import tensorflow as tf

# TF's fused kernels refuse a smaller epsilon (cuDNN's limit).
_MIN_FUSED_EPSILON = 1.001e-5


@keras.saving.register_keras_serializable(package="kzoo")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` with the training step in one fused op.

    Keras 3 normalizes a training batch with about ten separate ops (moments,
    subtraction, scaling, each with its gradient), in float32 even under a
    mixed policy. On a 4-D channels-last input this layer runs TF's
    ``FusedBatchNormV3`` instead: one kernel forward, one backward, taking
    float16 or bfloat16 activations directly with float32 statistics. The
    numbers are Keras's: the batch statistics normalize the batch, and the
    moving statistics follow ``momentum`` with the biased batch variance, as
    Keras updates them. Everything else (inference, a frozen layer, masks,
    renorm, synchronized statistics, other ranks or axes) is Keras's own code,
    so an exported model's graph is the same as with Keras's layer.

    Every kzoo backbone and builder uses it (``keras.applications`` nets are
    converted by ``kzoo.backbones.fused.fuse_batch_norms``);
    ``benchmarks/train_speed.py`` measures what it saves.

    Args:
        Those of ``keras.layers.BatchNormalization``.

    Example:
    >>> bn = FusedBatchNormalization()
    >>> y = bn(np.random.rand(2, 8, 8, 4).astype("float32"), training=True)
    """

    def _fused_applies(self, inputs, training, mask):
        return (training and self.trainable and mask is None and not self.renorm and not self.synchronized
                and len(inputs.shape) == 4 and self.axis in (-1, 3) and self.epsilon >= _MIN_FUSED_EPSILON)

    def call(self, inputs, training=None, mask=None):
        if not self._fused_applies(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        ones = tf.ones_like(self.moving_mean)
        gamma = tf.cast(self.gamma, tf.float32) if self.scale else ones
        beta = tf.cast(self.beta, tf.float32) if self.center else tf.zeros_like(ones)
        outputs, mean, variance, _, _, _ = tf.raw_ops.FusedBatchNormV3(
            x=tf.cast(inputs, self.compute_dtype), scale=gamma, offset=beta,
            mean=tf.constant([], tf.float32), variance=tf.constant([], tf.float32),
            epsilon=self.epsilon, is_training=True,
        )
        # The kernel returns the unbiased variance; Keras's moving variance follows the biased one.
        count = tf.cast(tf.size(inputs) // tf.shape(inputs)[-1], tf.float32)
        variance = variance * tf.maximum(count - 1.0, 0.0) / tf.maximum(count, 1.0)
        momentum = self.momentum
        self.moving_mean.assign(self.moving_mean * momentum + mean * (1.0 - momentum))
        self.moving_variance.assign(self.moving_variance * momentum + variance * (1.0 - momentum))
        return outputs
