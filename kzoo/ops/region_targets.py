"""Training targets of two-stage detectors, built inside the graph.

A region-based detector's second stage trains on RoIs drawn from its own
proposals, which change at every step, so its targets cannot be encoded per
element in ``tf.data``. These functions build them on batched, padded
ground truth (``gt_classes == -1`` marks padding, which never matches):

- ``rpn_targets``: Faster R-CNN's anchor labels (IoU >= 0.7 object, < 0.3
  background, plus each box's best anchors), a balanced sample of 256 per
  image, and the box deltas of the positives.
- ``sample_rois``: Fast R-CNN's minibatch: proposals with the ground-truth
  boxes appended, labelled by IoU (>= 0.5 the box's class, < 0.5
  background), a fixed number per image with at most a quarter positive,
  and the positives' box deltas.

Labels use the matcher's convention: a class id ``>= 0`` for a positive,
``-1`` background, ``-2`` left out of the loss (ignored, or not sampled).
"""

import tensorflow as tf

from kzoo.ops import box_coding
from kzoo.ops import boxes as box_ops
from kzoo.ops import matching
from kzoo.ops import sampling


def rpn_targets(
    anchors,
    gt_boxes,
    gt_classes,
    num_samples=256,
    positive_fraction=0.5,
    foreground_iou=0.7,
    background_iou=0.3,
    seed=0,
    box_weights=box_coding.DEFAULT_WEIGHTS,
):
    """Sampled objectness labels and box targets of every anchor.

    Args:
        anchors: float [A, 4] or [N, A, 4] normalized anchors.
        gt_boxes: float [N, M, 4]; gt_classes int [N, M], -1 for padding.
        num_samples, positive_fraction: the balanced sample per image.
        foreground_iou, background_iou: matching thresholds.
        seed: int or a [2] stateless seed for the sample.
        box_weights: ``(wy, wx, wh, ww)`` of the box coding.

    Returns:
        ``(labels int32 [N, A], box_targets float32 [N, A, 4])``: labels are
        the matched box's class for sampled positives, -1 for sampled
        negatives, -2 otherwise; box targets are zero except for positives.
    """
    gt_boxes = tf.cast(gt_boxes, tf.float32)
    gt_classes = tf.cast(gt_classes, tf.int32)
    anchors = tf.cast(anchors, tf.float32)
    matches = matching.match_boxes(
        anchors, gt_boxes, gt_classes, foreground_iou, background_iou, allow_low_quality_matches=True
    )
    labels = matching.gather_matched(
        gt_classes, matches, background_value=matching.BACKGROUND, ignore_value=matching.IGNORE
    )
    positive, negative = sampling.sample_balanced(labels, num_samples, positive_fraction, seed)
    labels = tf.where(positive, labels, tf.where(negative, matching.BACKGROUND, matching.IGNORE))
    matched_boxes = matching.gather_matched(gt_boxes, matches, background_value=0.0)
    if anchors.shape.rank == 2:
        anchors = anchors[None]
    deltas = box_coding.encode_boxes(matched_boxes, anchors, box_weights)
    return labels, tf.where(positive[..., None], deltas, 0.0)


def sample_rois(
    proposals,
    gt_boxes,
    gt_classes,
    num_samples=512,
    positive_fraction=0.25,
    foreground_iou=0.5,
    background_iou=0.5,
    seed=0,
    box_weights=(10.0, 10.0, 5.0, 5.0),
    append_groundtruth=True,
):
    """A fixed-size, class-balanced sample of RoIs per image with their targets.

    Args:
        proposals: float [N, P, 4]; all-zero rows are padding and never sampled.
        gt_boxes: float [N, M, 4]; gt_classes int [N, M], -1 for padding.
        num_samples: S, RoIs per image.
        positive_fraction: largest share of positives.
        foreground_iou: IoU at or above which a RoI takes its box's class.
        background_iou: IoU below which a RoI is background (between the two
            it is never sampled).
        seed: int or a [2] stateless seed.
        box_weights: ``(wy, wx, wh, ww)`` of the box coding ((10, 10, 5, 5)
            in Faster R-CNN's second stage).
        append_groundtruth: add the ground-truth boxes to the candidates, so
            that every image has positives from the first step on.

    Returns:
        dict of ``rois`` float32 [N, S, 4], ``labels`` int32 [N, S] (class,
        -1 background, -2 an unused slot when an image has fewer than S
        candidates; its RoI is a zero box), ``box_targets`` float32
        [N, S, 4] (zero unless positive) and ``matches`` int32 [N, S] (the
        index of the matched ground-truth box for positives, -1 otherwise).
    """
    proposals = tf.cast(proposals, tf.float32)
    gt_boxes = tf.cast(gt_boxes, tf.float32)
    gt_classes = tf.cast(gt_classes, tf.int32)
    candidates = proposals
    usable = box_ops.area(proposals) > 0.0
    if append_groundtruth:
        candidates = tf.concat([proposals, gt_boxes], axis=1)
        usable = tf.concat([usable, (gt_classes >= 0) & (box_ops.area(gt_boxes) > 0.0)], axis=1)
    matches = matching.match_boxes(candidates, gt_boxes, gt_classes, foreground_iou, background_iou)
    matches = tf.where(usable, matches, matching.IGNORE)
    labels = matching.gather_matched(
        gt_classes, matches, background_value=matching.BACKGROUND, ignore_value=matching.IGNORE
    )
    positive, negative = sampling.sample_balanced(labels, num_samples, positive_fraction, seed)

    # Sampled candidates first (positives before negatives), then unused slots.
    rank = tf.cast(positive, tf.float32) * 2.0 + tf.cast(negative, tf.float32)
    count = candidates.shape[1]
    k = min(int(num_samples), count) if count is not None else int(num_samples)
    order_key, index = tf.math.top_k(rank, k=k)
    taken = order_key > 0.0
    rois = tf.where(taken[..., None], tf.gather(candidates, index, batch_dims=1), 0.0)
    picked_matches = tf.where(taken, tf.gather(matches, index, batch_dims=1), matching.IGNORE)
    picked_labels = tf.where(taken, tf.gather(labels, index, batch_dims=1), matching.IGNORE)
    is_positive = picked_labels >= 0
    matched_boxes = matching.gather_matched(gt_boxes, picked_matches, background_value=0.0)
    deltas = box_coding.encode_boxes(matched_boxes, rois, box_weights)
    outputs = {
        "rois": rois,
        "labels": picked_labels,
        "box_targets": tf.where(is_positive[..., None], deltas, 0.0),
        "matches": tf.where(is_positive, picked_matches, -1),
    }
    if k < num_samples:
        # Fewer candidates than slots: pad the slot axis to S with unused entries.
        pad = int(num_samples) - k
        outputs = {
            "rois": tf.pad(outputs["rois"], [[0, 0], [0, pad], [0, 0]]),
            "labels": tf.pad(outputs["labels"], [[0, 0], [0, pad]], constant_values=matching.IGNORE),
            "box_targets": tf.pad(outputs["box_targets"], [[0, 0], [0, pad], [0, 0]]),
            "matches": tf.pad(outputs["matches"], [[0, 0], [0, pad]], constant_values=-1),
        }
    return outputs
