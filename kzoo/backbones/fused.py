"""Swap the batch norm layers of a built net: Keras's for kzoo's fused one, or back."""

import keras

from kzoo.layers.fused_batch_normalization import FusedBatchNormalization


def swap_batch_norms(net, from_class, to_class):
    """A copy of functional model ``net`` whose layers of exactly ``from_class`` are ``to_class`` layers
    (same names, configs and weights); every other layer is cloned as is. ``net`` itself when it has none."""
    if not any(type(layer) is from_class for layer in net.layers):
        return net

    def clone(layer):
        cls = to_class if type(layer) is from_class else layer.__class__
        return cls.from_config(layer.get_config())

    # New inputs named as the net's (a functional net's input layers come first), in the net's structure.
    inputs = keras.tree.pack_sequence_as(net.input, [
        keras.Input(batch_shape=tensor.shape, dtype=tensor.dtype, name=layer.name)
        for tensor, layer in zip(net.inputs, net.layers)])
    swapped = keras.models.clone_model(net, input_tensors=inputs, clone_function=clone)
    swapped.set_weights(net.get_weights())
    return swapped


def fuse_batch_norms(net):
    """``net`` with ``FusedBatchNormalization`` in place of ``keras.layers.BatchNormalization``.

    Used on ``keras.applications`` nets, which build Keras's layer: their training steps then run
    TF's fused batch norm kernel, and their outputs do not change.
    """
    return swap_batch_norms(net, keras.layers.BatchNormalization, FusedBatchNormalization)
