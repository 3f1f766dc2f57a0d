"""The loss of a training graph that computes its own losses: its output, averaged."""

import keras


@keras.saving.register_keras_serializable(package="kzoo")
class ModelOutputLoss(keras.losses.Loss):
    """Takes the model's output as the loss value: ``y_true`` is a placeholder.

    Region-based detectors build their targets inside the training graph
    (anchor and RoI sampling depend on the model's own proposals), so their
    training graph outputs one per-image loss per term. Compiling each
    output with this loss lets ``fit`` reduce, scale across ``tf.distribute``
    replicas and report every term under its own name, as for any loss.

    Args:
        name: loss name.
        reduction: Keras reduction of the per-image values (their mean over
            the global batch with the default).
        dtype: computation dtype.

    Call arguments:
        y_true: ignored (a placeholder of the dataset's ``y``).
        y_pred: [N] per-image losses.

    Returns:
        The reduced loss.

    Example:
        >>> training_model.compile(optimizer="adam", loss={name: ModelOutputLoss() for name in training_model.output})
    """

    def __init__(self, name="model_output_loss", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return y_pred
