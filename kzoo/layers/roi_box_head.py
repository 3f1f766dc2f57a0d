"""Fast R-CNN's per-RoI head: fully connected layers, class logits and box deltas."""

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="kzoo")
class RoIBoxHead(keras.layers.Layer):
    """Classify every pooled RoI over C + 1 classes and regress its box per class.

    Each RoI's pooled grid is flattened and goes through ``num_fc`` fully
    connected layers with ReLU (fc6 and fc7 of VGG16 in Fast R-CNN, two
    1024-wide layers in FPN), then two sibling outputs: softmax logits over
    background plus C classes, and 4 box deltas for each of the C classes
    (or one class-agnostic set).

    Args:
        num_classes: C, object classes (no background).
        representation_size: width of the fully connected layers.
        num_fc: fully connected layers before the outputs.
        class_specific_boxes: one set of deltas per class (the paper) or one
            shared set.
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        pooled: [N, R, Ph, Pw, C_in] RoI features (RoIPooling or RoIAlign).

    Returns:
        ``(class_logits [N, R, C + 1], box_deltas [N, R, C, 4])`` (or
        [N, R, 1, 4] class-agnostic), background at logit 0.

    Example:
    >>> logits, deltas = RoIBoxHead(num_classes=20)(RoIAlign(7)([features, rois]))

    Reference:
        Girshick, "Fast R-CNN", ICCV 2015 (section 2).
    """

    def __init__(self, num_classes, representation_size=1024, num_fc=2, class_specific_boxes=True, **kwargs):
        super().__init__(**kwargs)
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}")
        self.num_classes = int(num_classes)
        self.representation_size = int(representation_size)
        self.num_fc = int(num_fc)
        self.class_specific_boxes = bool(class_specific_boxes)
        self.hidden = [
            layers.Dense(self.representation_size, activation="relu", name=f"fc{i + 6}") for i in range(self.num_fc)
        ]
        self.classifier = layers.Dense(
            self.num_classes + 1, kernel_initializer=keras.initializers.RandomNormal(stddev=0.01), name="class_logits"
        )
        self.box_classes = self.num_classes if self.class_specific_boxes else 1
        self.regressor = layers.Dense(
            4 * self.box_classes, kernel_initializer=keras.initializers.RandomNormal(stddev=0.001), name="box_deltas"
        )

    def build(self, input_shape):
        width = 1
        for d in input_shape[2:]:
            width *= d
        shape = (None, width)
        for layer in self.hidden:
            layer.build(shape)
            shape = (None, self.representation_size)
        self.classifier.build(shape)
        self.regressor.build(shape)

    def call(self, pooled):
        batch, rois = keras.ops.shape(pooled)[0], pooled.shape[1]
        x = keras.ops.reshape(pooled, (-1, pooled.shape[2] * pooled.shape[3] * pooled.shape[4]))
        for layer in self.hidden:
            x = layer(x)
        logits = keras.ops.reshape(self.classifier(x), (batch, rois, self.num_classes + 1))
        deltas = keras.ops.reshape(self.regressor(x), (batch, rois, self.box_classes, 4))
        return logits, deltas

    def compute_output_shape(self, input_shape):
        batch, rois = input_shape[0], input_shape[1]
        return (batch, rois, self.num_classes + 1), (batch, rois, self.box_classes, 4)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "representation_size": self.representation_size,
                "num_fc": self.num_fc,
                "class_specific_boxes": self.class_specific_boxes,
            }
        )
        return config
