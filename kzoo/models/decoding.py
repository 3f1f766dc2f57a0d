"""Decoding shared by the model families whose graphs end in their predictions."""


def identity_decode(model, outputs):
    """The ``ModelSpec.decode`` of models that decode inside their graph: the outputs are the predictions.

    Every detector (single-stage and region-based) ends in its decoding
    layers, whose configs hold every setting the decoding needs (anchors,
    proposal counts, thresholds), so a reloaded checkpoint decodes as it
    was built.
    """
    return outputs
