"""Faster R-CNN's proposal step (top-k, decode, NMS, top-k), as a Keras layer."""

import keras
import tensorflow as tf

from kzoo.ops import box_coding
from kzoo.ops import proposals as proposal_ops


@keras.saving.register_keras_serializable(package="kzoo")
class RegionProposals(keras.layers.Layer):
    """A fixed number of class-agnostic proposals per image from RPN outputs.

    Keeps the ``pre_nms_top_k`` anchors of highest objectness, decodes their
    deltas, clips the boxes to the image, drops boxes under ``min_size``,
    runs NMS at ``iou_threshold`` and returns the best ``post_nms_top_k``,
    padded with all-zero boxes (see ``kzoo.ops.proposals``). Proposals carry
    no gradient: as in Faster R-CNN's approximate joint training, the second
    stage treats them as fixed boxes. Detectors hold one instance with the
    test-time counts in their inference graph; their training graph makes
    another with the training counts.

    Args:
        pre_nms_top_k: anchors entering NMS (Faster R-CNN: 6000 at test time;
            Detectron FPN: 1000 per level).
        post_nms_top_k: P, proposals kept (300 at test time in the paper).
        iou_threshold: NMS threshold (0.7).
        min_size: smallest normalized height and width kept.
        box_weights: ``(wy, wx, wh, ww)`` of the RPN's box coding.
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        inputs: ``[objectness [N, A], deltas [N, A, 4], anchors [N, A, 4]]``.

    Returns:
        ``(proposals float32 [N, P, 4], scores float32 [N, P])``, best first.

    Example:
    >>> proposals, scores = RegionProposals(1000, 300)([objectness, deltas, anchors])

    Reference:
        Ren et al., "Faster R-CNN: Towards Real-Time Object Detection with
        Region Proposal Networks", NeurIPS 2015 (section 3.3).
    """

    def __init__(
        self,
        pre_nms_top_k=2000,
        post_nms_top_k=300,
        iou_threshold=0.7,
        min_size=0.0,
        box_weights=box_coding.DEFAULT_WEIGHTS,
        **kwargs,
    ):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if int(post_nms_top_k) < 1 or int(pre_nms_top_k) < 1:
            raise ValueError(f"proposal counts must be positive, got {pre_nms_top_k} and {post_nms_top_k}")
        self.pre_nms_top_k = int(pre_nms_top_k)
        self.post_nms_top_k = int(post_nms_top_k)
        self.iou_threshold = float(iou_threshold)
        self.min_size = float(min_size)
        self.box_weights = tuple(float(w) for w in box_weights)

    def call(self, inputs):
        objectness, deltas, anchors = (tf.stop_gradient(tf.cast(x, tf.float32)) for x in inputs)
        return proposal_ops.generate_proposals(
            objectness, deltas, anchors, self.pre_nms_top_k, self.post_nms_top_k, self.iou_threshold,
            self.min_size, self.box_weights,
        )

    def compute_output_spec(self, inputs):
        batch = inputs[0].shape[0]
        return (
            keras.KerasTensor((batch, self.post_nms_top_k, 4), dtype="float32"),
            keras.KerasTensor((batch, self.post_nms_top_k), dtype="float32"),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "pre_nms_top_k": self.pre_nms_top_k,
                "post_nms_top_k": self.post_nms_top_k,
                "iou_threshold": self.iou_threshold,
                "min_size": self.min_size,
                "box_weights": list(self.box_weights),
            }
        )
        return config
