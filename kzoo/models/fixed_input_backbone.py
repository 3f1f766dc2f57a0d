"""The backbone of a network whose fully connected layers read one backbone level."""

from kzoo.backbones import build_backbone


def build_fixed_input_backbone(backbone, input_shape, feature_level, weights=None):
    """Build ``backbone`` for a fixed image size and check that it has ``feature_level``.

    Networks that flatten a feature map into dense layers (classification +
    localization, DeepPose) need a fixed height and width, and read one level
    of the backbone's pyramid. Both are checked here, with errors that name
    what was asked for.

    Args:
        backbone: a name from ``kzoo.backbones.list_backbones()``.
        input_shape: (H, W, 3) with H and W fixed.
        feature_level: the level the dense layers read ("P2".."P5").
        weights: backbone weights (None, ``"imagenet"`` or a file path).

    Returns:
        The backbone, a ``keras.Model`` mapping images to its levels.
    """
    if input_shape[0] is None or input_shape[1] is None:
        raise ValueError(f"input_shape needs a fixed height and width, got {input_shape}")
    features = build_backbone(backbone, input_shape, weights=weights)
    if feature_level not in features.output:
        raise ValueError(f"backbone {backbone!r} has levels {sorted(features.output)}, not {feature_level!r}")
    return features
