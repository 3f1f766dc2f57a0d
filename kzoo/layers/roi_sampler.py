"""Fast R-CNN's RoI minibatch (ground truth appended, balanced, with targets), as a Keras layer."""

import keras
import tensorflow as tf

from kzoo.ops import region_targets


@keras.saving.register_keras_serializable(package="kzoo")
class RoISampler(keras.layers.Layer):
    """Draw a fixed number of labelled RoIs per image from the proposals.

    The ground-truth boxes join the proposals as candidates, every candidate
    is labelled by its best IoU (>= ``foreground_iou``: that box's class;
    < ``background_iou``: background), and ``num_samples`` are drawn per
    image with at most ``positive_fraction`` positive, from the layer's
    seeded generator. Padding (ground truth of class -1, all-zero
    proposals) is never drawn. See ``kzoo.ops.region_targets.sample_rois``.

    Args:
        num_samples: RoIs per image (512 in Faster R-CNN; 128 in Fast R-CNN's
            minibatches of 2 images).
        positive_fraction: largest share of positives (0.25).
        foreground_iou, background_iou: labelling thresholds (0.5, 0.5).
        box_weights: ``(wy, wx, wh, ww)`` of the second stage's box coding.
        append_groundtruth: add the ground truth to the candidates.
        seed: seed of the layer's ``keras.random.SeedGenerator``.
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        inputs: ``[proposals [N, P, 4], gt_boxes [N, M, 4], gt_classes [N, M]]``.

    Returns:
        dict of ``rois`` [N, S, 4], ``labels`` int32 [N, S] (class, -1
        background, -2 an unused slot), ``box_targets`` [N, S, 4] and
        ``matches`` int32 [N, S] (matched ground-truth index of positives,
        else -1).

    Reference:
        Girshick, "Fast R-CNN", ICCV 2015 (section 2.3, mini-batch sampling).
    """

    def __init__(
        self,
        num_samples=512,
        positive_fraction=0.25,
        foreground_iou=0.5,
        background_iou=0.5,
        box_weights=(10.0, 10.0, 5.0, 5.0),
        append_groundtruth=True,
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
        self.append_groundtruth = bool(append_groundtruth)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        proposals, gt_boxes, gt_classes = inputs
        return region_targets.sample_rois(
            tf.stop_gradient(proposals), gt_boxes, gt_classes, self.num_samples, self.positive_fraction,
            self.foreground_iou, self.background_iou, self.seed_generator.next(), self.box_weights,
            self.append_groundtruth,
        )

    def compute_output_spec(self, inputs):
        batch, s = inputs[0].shape[0], self.num_samples
        return {
            "rois": keras.KerasTensor((batch, s, 4), dtype="float32"),
            "labels": keras.KerasTensor((batch, s), dtype="int32"),
            "box_targets": keras.KerasTensor((batch, s, 4), dtype="float32"),
            "matches": keras.KerasTensor((batch, s), dtype="int32"),
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_samples": self.num_samples,
                "positive_fraction": self.positive_fraction,
                "foreground_iou": self.foreground_iou,
                "background_iou": self.background_iou,
                "box_weights": list(self.box_weights),
                "append_groundtruth": self.append_groundtruth,
                "seed": self.seed,
            }
        )
        return config
