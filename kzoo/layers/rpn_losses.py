"""The RPN's two losses with their targets built in the graph, as a Keras layer."""

import keras
import tensorflow as tf

from kzoo.losses.detection import rpn_loss
from kzoo.ops import box_coding
from kzoo.ops import region_targets


@keras.saving.register_keras_serializable(package="kzoo")
class RPNLosses(keras.layers.Layer):
    """Objectness and box losses of a Region Proposal Network, per image.

    Matches the anchors to the padded ground truth (IoU >= ``foreground_iou``
    object, < ``background_iou`` background, each box's best anchors object
    too), draws a balanced sample of ``num_samples`` anchors per image (at
    most ``positive_fraction`` positive) from a seeded generator, then scores
    the RPN's outputs: binary cross-entropy of objectness over the sample
    and smooth-L1 of the positives' deltas, each divided by the image's
    sampled count. An image without objects has a box loss of exactly 0.

    Args:
        num_samples: anchors sampled per image (256).
        positive_fraction: largest share of positives (0.5).
        foreground_iou, background_iou: matching thresholds (0.7, 0.3).
        box_weights: ``(wy, wx, wh, ww)`` of the RPN's box coding.
        smooth_l1_beta: smooth-L1 transition point (1/9, as Detectron).
        seed: seed of the layer's ``keras.random.SeedGenerator``.
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        inputs: ``[objectness [N, A], deltas [N, A, 4], anchors [N, A, 4],
        gt_boxes [N, M, 4], gt_classes [N, M]]`` (class -1 marks padding).

    Returns:
        dict ``{"objectness": [N], "box": [N]}`` of per-image losses.

    Reference:
        Ren et al., "Faster R-CNN: Towards Real-Time Object Detection with
        Region Proposal Networks", NeurIPS 2015 (section 3.1.2).
    """

    def __init__(
        self,
        num_samples=256,
        positive_fraction=0.5,
        foreground_iou=0.7,
        background_iou=0.3,
        box_weights=box_coding.DEFAULT_WEIGHTS,
        smooth_l1_beta=1.0 / 9.0,
        seed=None,
        **kwargs,
    ):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.num_samples = int(num_samples)
        self.positive_fraction = float(positive_fraction)
        self.foreground_iou = float(foreground_iou)
        self.background_iou = float(background_iou)
        self.box_weights = tuple(float(w) for w in box_weights)
        self.smooth_l1_beta = float(smooth_l1_beta)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        objectness, deltas, anchors, gt_boxes, gt_classes = inputs
        labels, box_targets = region_targets.rpn_targets(
            tf.cast(anchors, tf.float32), gt_boxes, gt_classes, self.num_samples, self.positive_fraction,
            self.foreground_iou, self.background_iou, self.seed_generator.next(), self.box_weights,
        )
        losses = rpn_loss(
            labels, tf.cast(objectness, tf.float32), box_targets, tf.cast(deltas, tf.float32),
            smooth_l1_beta=self.smooth_l1_beta, reduction="per_example",
        )
        return {"objectness": losses["classification"], "box": losses["box_regression"]}

    def compute_output_spec(self, inputs):
        batch = inputs[0].shape[0]
        return {name: keras.KerasTensor((batch,), dtype="float32") for name in ("objectness", "box")}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_samples": self.num_samples,
                "positive_fraction": self.positive_fraction,
                "foreground_iou": self.foreground_iou,
                "background_iou": self.background_iou,
                "box_weights": list(self.box_weights),
                "smooth_l1_beta": self.smooth_l1_beta,
                "seed": self.seed,
            }
        )
        return config
