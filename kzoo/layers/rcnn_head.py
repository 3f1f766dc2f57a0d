"""R-CNN's per-region outputs: a fine-tuned softmax classifier, linear SVMs and box regressors."""

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="kzoo")
class RCNNHead(keras.layers.Layer):
    """Classify each warped region's CNN features three ways, R-CNN style.

    The CNN's last feature map of every region is averaged over space and
    goes through one fully connected layer with ReLU (the fc7 feature).
    From it come softmax logits over background plus C classes (the
    classifier the CNN is fine-tuned with), one linear SVM score per class
    (the detector's scores, trained afterwards with hinge loss on frozen
    features) and class-specific box deltas (least squares, also on frozen
    features). The SVMs and box regressors carry an L2 penalty (the
    paper's regularization; Keras adds it to the training loss).

    Args:
        num_classes: C, object classes (no background).
        representation_size: width of the fully connected feature.
        svm_l2: L2 weight of the SVM kernels (the paper's C parameter,
            inverted).
        box_l2: L2 weight of the box regressors (ridge regression).
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        inputs: ``[features [N * P, h, w, D], proposals [N, P, 4]]``; the
            proposals only give P.

    Returns:
        ``(class_logits [N, P, C + 1], svm_scores [N, P, C], box_deltas [N, P, C, 4])``.

    Reference:
        Girshick et al., "Rich feature hierarchies for accurate object
        detection and semantic segmentation", CVPR 2014 (sections 2.3, C).
    """

    def __init__(self, num_classes, representation_size=256, svm_l2=1e-4, box_l2=1e-3, **kwargs):
        super().__init__(**kwargs)
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}")
        self.num_classes = int(num_classes)
        self.representation_size = int(representation_size)
        self.svm_l2 = float(svm_l2)
        self.box_l2 = float(box_l2)
        small = keras.initializers.RandomNormal(stddev=0.01)
        self.fc = layers.Dense(self.representation_size, activation="relu", name="fc7")
        self.classifier = layers.Dense(self.num_classes + 1, kernel_initializer=small, name="class_logits")
        self.svm = layers.Dense(
            self.num_classes, kernel_initializer=small, kernel_regularizer=keras.regularizers.L2(self.svm_l2),
            name="svm",
        )
        self.regressor = layers.Dense(
            4 * self.num_classes, kernel_initializer=keras.initializers.RandomNormal(stddev=0.001),
            kernel_regularizer=keras.regularizers.L2(self.box_l2), name="box_deltas",
        )

    def build(self, input_shape):
        features_shape = input_shape[0]
        self.fc.build((None, features_shape[-1]))
        for layer in (self.classifier, self.svm, self.regressor):
            layer.build((None, self.representation_size))

    def call(self, inputs):
        features, proposals = inputs
        rois = proposals.shape[1]
        hidden = self.fc(keras.ops.mean(features, axis=[1, 2]))
        logits = keras.ops.reshape(self.classifier(hidden), (-1, rois, self.num_classes + 1))
        svm = keras.ops.reshape(self.svm(hidden), (-1, rois, self.num_classes))
        deltas = keras.ops.reshape(self.regressor(hidden), (-1, rois, self.num_classes, 4))
        return logits, svm, deltas

    def compute_output_shape(self, input_shape):
        batch, rois = input_shape[1][0], input_shape[1][1]
        return (batch, rois, self.num_classes + 1), (batch, rois, self.num_classes), (batch, rois, self.num_classes, 4)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "representation_size": self.representation_size,
                "svm_l2": self.svm_l2,
                "box_l2": self.box_l2,
            }
        )
        return config
