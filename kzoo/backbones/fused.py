"""Swap Keras's batch norm layers of a built net for kzoo's fused one."""

import keras

from kzoo.layers.fused_batch_normalization import FusedBatchNormalization


def _fused_clone(layer):
    if type(layer) is keras.layers.BatchNormalization:
        return FusedBatchNormalization.from_config(layer.get_config())
    return layer.__class__.from_config(layer.get_config())


def fuse_batch_norms(net):
    """A copy of functional model ``net`` whose ``keras.layers.BatchNormalization`` layers are
    ``FusedBatchNormalization`` (same names, configs and weights); every other layer is cloned as is.

    Used on ``keras.applications`` nets, which build Keras's layer: their training steps then run
    TF's fused batch norm kernel, and their outputs do not change.
    """
    if not any(type(layer) is keras.layers.BatchNormalization for layer in net.layers):
        return net
    # New inputs named as the net's (a functional net's input layers come first), in the net's structure.
    inputs = keras.tree.pack_sequence_as(net.input, [
        keras.Input(batch_shape=tensor.shape, dtype=tensor.dtype, name=layer.name)
        for tensor, layer in zip(net.inputs, net.layers)])
    fused = keras.models.clone_model(net, input_tensors=inputs, clone_function=_fused_clone)
    fused.set_weights(net.get_weights())
    return fused
