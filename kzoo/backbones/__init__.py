"""Backbones: ``build_backbone(name, input_shape, weights=None)``.

Every backbone takes float RGB images in [0, 255] (its own preprocessing is
inside the model) and returns a dict of feature maps by pyramid level,
``{"P2": stride 4, "P3": stride 8, "P4": stride 16, "P5": stride 32}``.
"""

import functools

from kzoo.backbones.applications import APPLICATIONS, build_application_features
from kzoo.backbones.freezing import FREEZE_CHOICES, freeze_backbone
from kzoo.backbones.small_nets import build_alexnet_features, build_tiny_features

# The one place that maps backbone names to builders.
BACKBONES = {
    "tiny": build_tiny_features,
    "alexnet": build_alexnet_features,
    **{name: functools.partial(build_application_features, name) for name in APPLICATIONS},
}
LEVEL_STRIDES = {"P2": 4, "P3": 8, "P4": 16, "P5": 32}


def list_backbones():
    """Names accepted by ``build_backbone``."""
    return sorted(BACKBONES)


def build_backbone(name, input_shape, weights=None):
    """Build backbone ``name`` for images of ``input_shape`` (H, W, 3).

    Args:
        name: one of ``list_backbones()``.
        input_shape: (H, W, 3); H and W may be None for fully convolutional use.
        weights: None (random init), ``"imagenet"`` (``keras.applications``
            nets only) or a path to a weights file.

    Returns:
        A ``keras.Model`` mapping images to ``{"P2": ..., "P5": ...}``.
    """
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose from {list_backbones()}")
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise ValueError(f"input_shape must be (H, W, 3), got {input_shape}")
    if name in APPLICATIONS:
        return BACKBONES[name](input_shape, weights=weights)
    if weights == "imagenet":
        raise ValueError(f"backbone {name!r} has no ImageNet weights; use weights=None or a file path")
    model = BACKBONES[name](input_shape)
    if weights is not None:
        model.load_weights(weights)
    return model
