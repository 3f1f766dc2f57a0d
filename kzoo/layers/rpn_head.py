"""The Region Proposal Network head, shared over pyramid levels, as a Keras layer."""

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="kzoo")
class RPNHead(keras.layers.Layer):
    """Objectness and box deltas of every anchor, from one or more feature maps.

    A 3x3 convolution with ReLU slides over each map, then two sibling 1x1
    convolutions predict, at every location, ``A`` objectness logits and
    ``4 A`` box deltas for its ``A`` anchors. The same weights serve every
    level of a pyramid (FPN); outputs are concatenated from the finest level
    to the coarsest in (row, column, anchor) order, the order of
    ``AnchorGenerator``'s anchors.

    Args:
        anchors_per_location: A, anchors at each cell (9 = 3 scales x 3
            aspect ratios in Faster R-CNN, 3 per level in FPN).
        num_channels: channels of the 3x3 convolution (512 for VGG16, 256
            with FPN).
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        features: one [N, H, W, C] map or a list of maps, finest first.

    Returns:
        ``(objectness [N, A_total], deltas [N, A_total, 4])``.

    Example:
    >>> head = RPNHead(anchors_per_location=9, num_channels=256)
    >>> objectness, deltas = head([p2, p3, p4, p5])

    Reference:
        Ren et al., "Faster R-CNN: Towards Real-Time Object Detection with
        Region Proposal Networks", NeurIPS 2015 (section 3.1).
    """

    def __init__(self, anchors_per_location=9, num_channels=256, **kwargs):
        super().__init__(**kwargs)
        self.anchors_per_location = int(anchors_per_location)
        self.num_channels = int(num_channels)
        init = keras.initializers.RandomNormal(stddev=0.01)
        self.conv = layers.Conv2D(
            self.num_channels, 3, padding="same", activation="relu", kernel_initializer=init, name="conv"
        )
        self.objectness = layers.Conv2D(self.anchors_per_location, 1, kernel_initializer=init, name="objectness")
        self.deltas = layers.Conv2D(4 * self.anchors_per_location, 1, kernel_initializer=init, name="deltas")

    def build(self, input_shape):
        shape = tuple(input_shape[0] if isinstance(input_shape, list) else input_shape)
        self.conv.build(shape)
        hidden = shape[:-1] + (self.num_channels,)
        self.objectness.build(hidden)
        self.deltas.build(hidden)

    def call(self, features):
        maps = features if isinstance(features, (list, tuple)) else [features]
        objectness, deltas = [], []
        for feature in maps:
            hidden = self.conv(feature)
            # A static anchor count (when the map size is static) keeps the proposal top-k's shape static.
            height, width = feature.shape[1], feature.shape[2]
            count = -1 if height is None or width is None else height * width * self.anchors_per_location
            objectness.append(keras.ops.reshape(self.objectness(hidden), (-1, count)))
            deltas.append(keras.ops.reshape(self.deltas(hidden), (-1, count, 4)))
        return keras.ops.concatenate(objectness, axis=1), keras.ops.concatenate(deltas, axis=1)

    def compute_output_shape(self, input_shape):
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        cells = [None if s[1] is None or s[2] is None else s[1] * s[2] for s in shapes]
        total = None if None in cells else sum(cells) * self.anchors_per_location
        batch = shapes[0][0]
        return (batch, total), (batch, total, 4)

    def get_config(self):
        config = super().get_config()
        config.update({"anchors_per_location": self.anchors_per_location, "num_channels": self.num_channels})
        return config
