"""Mask R-CNN's fully convolutional per-RoI head (masks or keypoint heatmaps), as a Keras layer."""

import keras
from keras import layers

UPSAMPLING = (2, 4)


@keras.saving.register_keras_serializable(package="kzoo")
class RoIConvHead(keras.layers.Layer):
    """Predict an ``s x s`` map per output channel for every pooled RoI.

    Each RoI's pooled grid (``m x m``, 14 in Mask R-CNN) goes through
    ``num_convs`` 3x3 convolutions with ReLU, a 2x2 transposed convolution
    of stride 2 with ReLU (to ``2m``), and a 1x1 convolution giving one map
    per output. ``upsampling=4`` adds a bilinear 2x upsampling (to ``4m``).

    - The mask head (He et al.): 4 convolutions of 256 channels,
      ``upsampling=2`` (28x28), one sigmoid mask per class.
    - The keypoint head: 8 convolutions of 512 channels, ``upsampling=4``
      (56x56), one heatmap per joint, trained with a softmax over its cells.

    Args:
        num_outputs: maps per RoI (classes for masks, joints for keypoints).
        num_convs: 3x3 convolutions before the upsampling.
        channels: their width (and the transposed convolution's).
        upsampling: 2 or 4, the output size over the pooled size.
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        pooled: [N, R, m, m, C] RoI features (``RoIAlign``).

    Returns:
        [N, R, upsampling * m, upsampling * m, num_outputs] logits.

    Example:
    >>> logits = RoIConvHead(num_outputs=3)(RoIAlign(14)([features, rois]))   # [N, R, 28, 28, 3]

    Reference:
        He, Gkioxari, Dollár and Girshick, "Mask R-CNN", ICCV 2017 (figure 4
        and section 5).
    """

    def __init__(self, num_outputs, num_convs=4, channels=256, upsampling=2, **kwargs):
        super().__init__(**kwargs)
        if int(num_outputs) < 1:
            raise ValueError(f"num_outputs must be at least 1, got {num_outputs}")
        if int(upsampling) not in UPSAMPLING:
            raise ValueError(f"upsampling must be one of {UPSAMPLING}, got {upsampling}")
        self.num_outputs = int(num_outputs)
        self.num_convs = int(num_convs)
        self.channels = int(channels)
        self.upsampling = int(upsampling)
        he = keras.initializers.HeNormal()
        self.convs = [
            layers.Conv2D(
                self.channels, 3, padding="same", activation="relu", kernel_initializer=he, name=f"conv{i + 1}"
            )
            for i in range(self.num_convs)
        ]
        self.deconv = layers.Conv2DTranspose(
            self.channels, 2, strides=2, activation="relu", kernel_initializer=he, name="deconv"
        )
        self.predictor = layers.Conv2D(
            self.num_outputs, 1, kernel_initializer=keras.initializers.RandomNormal(stddev=0.001), name="logits"
        )
        self.resize = layers.UpSampling2D(2, interpolation="bilinear") if self.upsampling == 4 else None

    def build(self, input_shape):
        shape = (None, *input_shape[2:])
        for layer in self.convs:
            layer.build(shape)
            shape = (*shape[:3], self.channels)
        self.deconv.build(shape)
        self.predictor.build((None, None, None, self.channels))

    def call(self, pooled):
        batch, rois = keras.ops.shape(pooled)[0], pooled.shape[1]
        x = keras.ops.reshape(pooled, (-1, *pooled.shape[2:]))
        for layer in self.convs:
            x = layer(x)
        x = self.predictor(self.deconv(x))
        if self.resize is not None:
            x = self.resize(x)
        side = pooled.shape[2] * self.upsampling, pooled.shape[3] * self.upsampling
        return keras.ops.reshape(x, (batch, rois, *side, self.num_outputs))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:2], input_shape[2] * self.upsampling, input_shape[3] * self.upsampling, self.num_outputs)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_outputs": self.num_outputs,
                "num_convs": self.num_convs,
                "channels": self.channels,
                "upsampling": self.upsampling,
            }
        )
        return config
