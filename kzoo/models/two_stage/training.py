"""How two-stage detectors meet ``model.fit``: padded ground truth in, per-loss outputs compiled."""

import tensorflow as tf

from kzoo.losses import ModelOutputLoss
from kzoo.metrics.replica_usage import ReplicaUsage
from kzoo.models.decoding import identity_decode  # noqa: F401 (re-exported by kzoo.models.two_stage)
from kzoo.models.two_stage import graph
from kzoo.optimizers import FusedAdam

# Ground-truth rows per image; objects beyond it are dropped (COCO images hold at most 93).
MAX_BOXES = 100


def two_stage_targets(element, image_size, max_boxes=MAX_BOXES):
    """Dataset element -> (training-graph inputs, loss placeholders) for ``model.fit``.

    The inputs are the resized image and the element's ground truth padded
    to ``max_boxes`` rows with class -1; the targets proper are built inside
    the training graph, from the model's own anchors and proposals.
    """
    return graph.groundtruth_inputs(element, image_size, max_boxes), graph.zero_targets()


def mask_rcnn_targets(element, image_size, max_boxes=MAX_BOXES):
    """Like ``two_stage_targets``, with the element's instance masks (``gt_masks``) for the mask head."""
    inputs = graph.groundtruth_inputs(element, image_size, max_boxes, masks=True)
    return inputs, graph.zero_targets(graph.LOSS_NAMES + ("mask",))


def keypoint_rcnn_targets(element, image_size, max_boxes=MAX_BOXES):
    """Like ``two_stage_targets``, with the element's keypoints (``gt_keypoints``) for the keypoint head."""
    inputs = graph.groundtruth_inputs(element, image_size, max_boxes, keypoints=True)
    return inputs, graph.zero_targets(graph.LOSS_NAMES + ("keypoint",))


def external_proposal_targets(element, image_size, max_boxes=MAX_BOXES):
    """Like ``two_stage_targets``, for models with external proposals: the element's ``proposals`` go along.

    The elements need ``proposals`` [P, 4] (``kzoo.data.proposal_cache.attach_proposals``;
    ``kzoo.training.train`` attaches them), and the losses are the second stage's only.
    """
    if "proposals" not in element:
        raise ValueError("this model trains on external proposals: attach them to the elements first "
                         "(kzoo.data.proposal_cache.attach_proposals)")
    inputs = graph.groundtruth_inputs(element, image_size, max_boxes)
    inputs["proposals"] = tf.cast(element["proposals"], tf.float32)
    return inputs, graph.zero_targets(graph.ROI_LOSS_NAMES)


def compile_two_stage(training_model, strategy=None, learning_rate=1e-3, loss_weights=None):
    """Adam with gradient clipping on the sum of the training graph's losses, each reported by name.

    Args:
        training_model: the model's training graph (``ModelSpec.training_model``).
        strategy: the ``tf.distribute`` strategy, for the replica-usage metric.
        learning_rate: Adam's learning rate (or a schedule).
        loss_weights: optional dict of weights by loss name (1 each by default).
    """
    names = list(training_model.output)
    metrics = None
    if strategy is not None:
        metrics = {names[0]: [ReplicaUsage(strategy.num_replicas_in_sync)]}
    training_model.compile(
        optimizer=FusedAdam(learning_rate, global_clipnorm=10.0),
        loss={name: ModelOutputLoss(name=f"{name}_loss") for name in names},
        loss_weights=loss_weights,
        metrics=metrics,
    )
