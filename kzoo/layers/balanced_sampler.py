"""Balanced positive / negative sampling for training, as a Keras layer."""

import keras

from kzoo.ops import sampling


@keras.saving.register_keras_serializable(package="kzoo")
class BalancedSampler(keras.layers.Layer):
    """Pick a fixed-size, class-balanced subset of anchors (or RoIs) per image.

    Up to ``int(num_samples * positive_fraction)`` positives are drawn at
    random, and negatives fill the rest of the ``num_samples``; ignored
    entries are never drawn. Every call draws a fresh sample from a seeded
    ``keras.random.SeedGenerator``, so a training run is reproducible while the
    sample still changes from step to step. ``kzoo.ops.sampling.sample_balanced``
    is the stateless form (the same seed always gives the same sample).

    Args:
        num_samples: samples per image (RPN 256, Fast R-CNN 512).
        positive_fraction: largest share of positives (RPN 0.5, Fast R-CNN 0.25).
        seed: integer seed of the layer's seed generator.
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        labels: int [N, A] as ``BoxMatcher`` returns: ``>= 0`` positive, -1
            negative, -2 ignored.

    Returns:
        ``(positive_mask, negative_mask)``: two bool [N, A].

    Example:

    >>> sampler = BalancedSampler(num_samples=256, positive_fraction=0.5, seed=1)
    >>> positives, negatives = sampler(matcher([anchors, gt_boxes, gt_classes]))

    Reference:
        Ren et al., "Faster R-CNN: Towards Real-Time Object Detection with
        Region Proposal Networks", NeurIPS 2015 (section 3.1.3).
    """

    def __init__(self, num_samples=256, positive_fraction=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= positive_fraction <= 1.0:
            raise ValueError(f"positive_fraction must be in [0, 1], got {positive_fraction}")
        self.num_samples = int(num_samples)
        self.positive_fraction = float(positive_fraction)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, labels):
        return sampling.sample_balanced(labels, self.num_samples, self.positive_fraction, self.seed_generator.next())

    def compute_output_spec(self, labels):
        return (
            keras.KerasTensor(labels.shape, dtype="bool"),
            keras.KerasTensor(labels.shape, dtype="bool"),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_samples": self.num_samples,
                "positive_fraction": self.positive_fraction,
                "seed": self.seed,
            }
        )
        return config
