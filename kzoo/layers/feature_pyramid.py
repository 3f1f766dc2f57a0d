"""Feature Pyramid Network neck, as a Keras layer."""

import keras
import tensorflow as tf

_EXTRA_LEVELS = ("conv", "pool")


def _level(name):
    if not (isinstance(name, str) and name[:1] == "P" and name[1:].isdigit()):
        raise ValueError(f"feature levels are named 'P<level>' (e.g. 'P3'), got {name!r}")
    return int(name[1:])


@keras.saving.register_keras_serializable(package="kzoo")
class FeaturePyramid(keras.layers.Layer):
    """FPN: a top-down pathway with lateral connections over backbone levels.

    Each backbone level ``C_l`` used (``min_level <= l``, up to the coarsest
    given) goes through a 1x1 lateral convolution; from the coarsest down,
    ``P_l = lateral(C_l) + upsample2x(P_{l+1})`` (nearest neighbour, cropped to
    ``C_l``'s size so odd sizes work), then a 3x3 convolution smooths each
    merged map. Levels above the backbone's coarsest, up to ``max_level``,
    are added as RetinaNet does (``"conv"``: ``P6 = conv3x3/2(C5)``,
    ``P7 = conv3x3/2(relu(P6))``) or as Mask R-CNN's FPN does (``"pool"``:
    each is a stride-2 subsampling of the level below).

    Args:
        num_channels: channels of every output level (256 in the papers).
        min_level: finest output level (3 for RetinaNet, 2 for Mask R-CNN).
        max_level: coarsest output level (7 for RetinaNet, 6 for Mask R-CNN).
        extra_levels: ``"conv"`` or ``"pool"``, how levels above the
            backbone's coarsest are made.
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        features: dict of backbone feature maps by level, as kzoo backbones
            return them, e.g. ``{"P2": ..., "P3": ..., "P4": ..., "P5": ...}``
            (level ``l`` has stride ``2 ** l``). Levels below ``min_level``
            are not used.

    Returns:
        dict ``{"P<min_level>": ..., ..., "P<max_level>": ...}`` of
        [N, h_l, w_l, num_channels] maps.

    Example:

    >>> backbone = kzoo.backbones.build_backbone("resnet50", (512, 512, 3))
    >>> pyramid = FeaturePyramid(num_channels=256, min_level=3, max_level=7)
    >>> levels = pyramid(backbone.output)  # {"P3": ..., ..., "P7": ...}

    Reference:
        Lin et al., "Feature Pyramid Networks for Object Detection", CVPR
        2017; Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.
    """

    def __init__(self, num_channels=256, min_level=3, max_level=7, extra_levels="conv", **kwargs):
        super().__init__(**kwargs)
        if extra_levels not in _EXTRA_LEVELS:
            raise ValueError(f"extra_levels must be one of {_EXTRA_LEVELS}, got {extra_levels!r}")
        if min_level > max_level:
            raise ValueError(f"min_level ({min_level}) must not exceed max_level ({max_level})")
        self.num_channels = int(num_channels)
        self.min_level = int(min_level)
        self.max_level = int(max_level)
        self.extra_levels = extra_levels

    def _input_levels(self, features):
        levels = sorted(_level(name) for name in features)
        used = [level for level in levels if self.min_level <= level <= self.max_level]
        if not used or used[0] != self.min_level:
            raise ValueError(f"FeaturePyramid needs backbone level P{self.min_level}, got {sorted(features)}")
        if used != list(range(used[0], used[-1] + 1)):
            raise ValueError(f"backbone levels must be consecutive, got {sorted(features)}")
        return used

    def build(self, input_shape):
        levels = self._input_levels(input_shape)
        self.lateral_convs = {}
        self.output_convs = {}
        for level in levels:
            name = f"P{level}"
            shape = tuple(input_shape[name])
            self.lateral_convs[name] = keras.layers.Conv2D(self.num_channels, 1, name=f"lateral_{name}")
            self.lateral_convs[name].build(shape)
            self.output_convs[name] = keras.layers.Conv2D(self.num_channels, 3, padding="same", name=f"output_{name}")
            self.output_convs[name].build(shape[:-1] + (self.num_channels,))
        self.extra_convs = {}
        if self.extra_levels == "conv":
            channels = input_shape[f"P{levels[-1]}"][-1]
            for level in range(levels[-1] + 1, self.max_level + 1):
                name = f"P{level}"
                self.extra_convs[name] = keras.layers.Conv2D(
                    self.num_channels, 3, strides=2, padding="same", name=f"extra_{name}"
                )
                self.extra_convs[name].build((None, None, None, channels))
                channels = self.num_channels
        self.upsample = keras.layers.UpSampling2D(2, interpolation="nearest")

    def call(self, features):
        levels = self._input_levels(features)
        outputs = {}
        top_down = None
        for level in reversed(levels):
            name = f"P{level}"
            merged = self.lateral_convs[name](features[name])
            if top_down is not None:
                merged = merged + _fit_to(self.upsample(top_down), merged)
            top_down = merged
            outputs[name] = self.output_convs[name](merged)

        source = features[f"P{levels[-1]}"]
        for level in range(levels[-1] + 1, self.max_level + 1):
            name = f"P{level}"
            if self.extra_levels == "conv":
                # RetinaNet feeds C5 (not P5) into P6, with a ReLU between P6 and P7.
                source = source if level == levels[-1] + 1 else tf.nn.relu(source)
                source = self.extra_convs[name](source)
            else:
                source = outputs[f"P{level - 1}"][:, ::2, ::2, :]
            outputs[name] = source
        return {f"P{level}": outputs[f"P{level}"] for level in range(self.min_level, self.max_level + 1)}

    def compute_output_shape(self, input_shape):
        levels = self._input_levels(input_shape)
        shapes = {}
        for level in range(self.min_level, self.max_level + 1):
            if level <= levels[-1]:
                shapes[f"P{level}"] = tuple(input_shape[f"P{level}"][:3]) + (self.num_channels,)
            else:
                batch, height, width, _ = shapes[f"P{level - 1}"]
                height = None if height is None else -(-height // 2)
                width = None if width is None else -(-width // 2)
                shapes[f"P{level}"] = (batch, height, width, self.num_channels)
        return shapes

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_channels": self.num_channels,
                "min_level": self.min_level,
                "max_level": self.max_level,
                "extra_levels": self.extra_levels,
            }
        )
        return config


def _fit_to(upsampled, lateral):
    """The 2x copy of the coarser level, cut or extended to the lateral map's height and width.

    A "same"-padded stride-2 map of odd size h has ceil(h / 2) rows, so the
    copy has one row too many: it is cropped. A "valid"-padded one (Inception's
    stems) has floor((h - 3) / 2) + 1, so the copy lacks one or two rows: its
    last rows are repeated (mirror padding).
    """
    height, width = lateral.shape[1], lateral.shape[2]
    up_height, up_width = upsampled.shape[1], upsampled.shape[2]
    if None not in (height, width, up_height, up_width) and (up_height < height or up_width < width):
        missing = [[0, 0], [0, max(height - up_height, 0)], [0, max(width - up_width, 0)], [0, 0]]
        upsampled = tf.pad(upsampled, missing, mode="SYMMETRIC")
    size = tf.shape(lateral)
    return upsampled[:, : size[1], : size[2], :]
