"""R-FCN's head: position-sensitive score maps over the whole image, pooled and voted per RoI."""

import keras
from keras import layers

from kzoo.ops import roi_sampling


@keras.saving.register_keras_serializable(package="kzoo")
class PSRoIHead(keras.layers.Layer):
    """Classify and regress every RoI from position-sensitive score maps, with no per-RoI layer.

    A 1x1 convolution reduces the feature map (1024 channels in R-FCN), and
    two 1x1 convolutions give ``k * k * (C + 1)`` class score maps and
    ``k * k * 4`` class-agnostic box maps for the whole image. A RoI is cut
    into ``k x k`` bins; bin ``(i, j)`` averages only the maps of position
    ``(i, j)`` (``kzoo.ops.roi_sampling.ps_roi_align``, position-major
    channels), and the ``k x k`` bins vote by averaging. All learned
    computation is shared by the image: what is done per RoI is pooling and
    an average, so the RoI-wise part costs almost nothing.

    Args:
        num_classes: C, object classes (no background).
        output_size: k (7 in R-FCN).
        channels: width of the 1x1 reduction (0: none).
        sampling_ratio: bilinear samples per bin and axis.
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        inputs: ``[features [N, H, W, C_in], rois [N, R, 4]]``.

    Returns:
        ``(class_logits [N, R, C + 1], box_deltas [N, R, 1, 4])``,
        background first.

    Example:
    >>> logits, deltas = PSRoIHead(num_classes=20, output_size=7)([features, rois])

    Reference:
        Dai, Li, He and Sun, "R-FCN: Object Detection via Region-based Fully
        Convolutional Networks", NeurIPS 2016.
    """

    def __init__(self, num_classes, output_size=7, channels=1024, sampling_ratio=2, **kwargs):
        super().__init__(**kwargs)
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}")
        self.num_classes = int(num_classes)
        self.output_size = int(output_size)
        self.channels = int(channels)
        self.sampling_ratio = roi_sampling._check_sampling(sampling_ratio)
        bins = self.output_size**2
        self.reduce = (
            layers.Conv2D(self.channels, 1, activation="relu", name="reduce") if self.channels > 0 else None
        )
        self.class_maps = layers.Conv2D(
            bins * (self.num_classes + 1), 1, kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
            name="class_maps",
        )
        self.box_maps = layers.Conv2D(
            bins * 4, 1, kernel_initializer=keras.initializers.RandomNormal(stddev=0.001), name="box_maps"
        )

    def build(self, input_shape):
        shape = input_shape[0]
        if self.reduce is not None:
            self.reduce.build(shape)
            shape = (*shape[:3], self.channels)
        self.class_maps.build(shape)
        self.box_maps.build(shape)

    def call(self, inputs):
        features, rois = inputs
        if self.reduce is not None:
            features = self.reduce(features)
        k = self.output_size
        scores = roi_sampling.ps_roi_align(self.class_maps(features), rois, k, self.sampling_ratio)
        deltas = roi_sampling.ps_roi_align(self.box_maps(features), rois, k, self.sampling_ratio)
        class_logits = roi_sampling.position_sensitive_vote(scores)
        box_deltas = roi_sampling.position_sensitive_vote(deltas)
        return class_logits, box_deltas[:, :, None, :]

    def compute_output_shape(self, input_shape):
        batch, rois = input_shape[1][0], input_shape[1][1]
        return (batch, rois, self.num_classes + 1), (batch, rois, 1, 4)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "output_size": self.output_size,
                "channels": self.channels,
                "sampling_ratio": self.sampling_ratio,
            }
        )
        return config
