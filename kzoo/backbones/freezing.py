"""Fine-tuning a pretrained backbone: batch norm in inference mode, and its first stages frozen.

Detection papers fine-tune ImageNet backbones with batches of a few images,
too few for batch statistics: Detectron and torchvision run every batch norm
layer of the backbone on its ImageNet statistics ("frozen BN") and leave the
stem and the first, stride-4 stage untrained (Detectron's ``FREEZE_AT: 2``,
torchvision's ``trainable_backbone_layers=3``). ``freeze_backbone`` does the
same to any kzoo model whose backbone comes from ``build_backbone``.

Frozen layers are ``trainable = False``: Keras runs a non-trainable
``BatchNormalization`` in inference mode, computes no gradient for frozen
weights, and keeps the flags through ``.keras`` files.
"""

import math
import re

import keras

# What can be frozen: batch norm alone, or batch norm and every layer up to a pyramid level.
FREEZE_CHOICES = ("batch_norm", "P2", "P3", "P4", "P5")


def _leaf_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer)
        else:
            yield layer


def _output_level(layer, input_size):
    """Stride-2 reductions between the backbone's input and ``layer``'s output (None for non-maps)."""
    shape = getattr(getattr(layer, "output", None), "shape", None)
    if shape is None or len(shape) != 4 or not shape[1]:
        return None
    return round(math.log2(input_size / shape[1]))


def _is_backbone(model):
    # build_backbone names its models "<name>_backbone"; Keras appends "_1", "_2" to a repeated name.
    return isinstance(model, keras.Model) and re.search(r"_backbone(_\d+)?$", model.name) is not None


def find_backbones(model):
    """The backbones (``build_backbone``'s models, named ``*_backbone``) among ``model``'s layers."""
    return [layer for layer in model.layers if _is_backbone(layer)]


def freeze_backbone(model, up_to):
    """Freeze ``model``'s backbone for fine-tuning; returns the number of layers with weights it froze.

    Args:
        model: a kzoo model (or a backbone from ``build_backbone``); call this
            before compiling it.
        up_to: ``"batch_norm"``: every batch norm layer of the backbone runs on
            its stored statistics and keeps its scale and offset; ``"P2"`` ..
            ``"P5"``: that, and every layer whose output is at that pyramid
            level or finer (``"P2"``: the stem and the stride-4 stage, as
            Detectron and torchvision fine-tune).

    Raises:
        ValueError: for an unknown ``up_to``, a model without a backbone, or
            freezing by level on a backbone without a fixed input size.
    """
    if up_to not in FREEZE_CHOICES:
        raise ValueError(f"up_to must be one of {FREEZE_CHOICES}, got {up_to!r}")
    backbones = [model] if _is_backbone(model) else find_backbones(model)
    if not backbones:
        raise ValueError(f"model {model.name!r} has no backbone to freeze")
    frozen = 0
    for backbone in backbones:
        input_size = backbone.inputs[0].shape[1]
        level = None if up_to == "batch_norm" else int(up_to[1:])
        if level is not None and not input_size:
            raise ValueError(f"freezing {backbone.name!r} up to {up_to} needs a fixed input size")
        for layer in _leaf_layers(backbone):
            if not layer.weights:
                continue
            if isinstance(layer, keras.layers.BatchNormalization):
                freeze = True
            elif level is not None:
                output_level = _output_level(layer, input_size)
                freeze = output_level is not None and output_level <= level
            else:
                freeze = False
            if freeze and layer.trainable:
                layer.trainable = False
                frozen += 1
    return frozen
