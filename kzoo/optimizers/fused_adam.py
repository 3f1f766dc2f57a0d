"""Adam whose per-variable update runs TF's fused kernel."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="kzoo")
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` with each variable's update in one ``ResourceApplyAdam`` op.

    Keras's Adam updates a variable with about a dozen separate ops (two
    moment updates, the bias correction, the step); TF's kernel does the same
    arithmetic (Kingma and Ba's update, epsilon outside the square root, the
    learning rate scaled by ``sqrt(1 - beta_2^t) / (1 - beta_1^t)``) in one
    pass over the variable. Everything Keras does around the update (gradient
    clipping, weight decay, loss scaling, EMA, ``tf.distribute``) is
    unchanged; AMSGrad and sparse gradients take Keras's own update.

    Args:
        Those of ``keras.optimizers.Adam``.
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        step = tf.cast(self.iterations + 1, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable), m=_handle(self._momentums[index]), v=_handle(self._velocities[index]),
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step), lr=tf.cast(learning_rate, dtype),
            beta1=beta_1, beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype),
        )


def _handle(variable):
    """The resource handle of a Keras or TF variable (under ``tf.distribute``, this device's copy)."""
    if isinstance(variable, keras.Variable):
        variable = variable.value
    return variable.handle
