"""IoU matching of anchors (or proposals) to ground-truth boxes.

The matcher returns, for every anchor, the index of its ground-truth box, or
one of two sentinels (the torchvision convention):

- ``BACKGROUND`` (-1): best IoU below ``background_iou``; a negative.
- ``IGNORE`` (-2): best IoU in ``[background_iou, foreground_iou)``; left out
  of the loss.

Ground truth is padded to a fixed ``max_boxes`` with class -1
(docs/design.md, "The dataset element"); padded rows never match anything,
so an image without boxes is all background.
"""

import tensorflow as tf

from kzoo.ops import boxes as box_ops

BACKGROUND = -1
IGNORE = -2


def match_boxes(
    anchors,
    gt_boxes,
    gt_classes,
    foreground_iou=0.5,
    background_iou=0.4,
    allow_low_quality_matches=False,
):
    """Match each anchor to the ground-truth box it overlaps most.

    Args:
        anchors: float32 [A, 4] shared by the batch, or [N, A, 4].
        gt_boxes: float32 [N, M, 4].
        gt_classes: int [N, M]; -1 marks padding.
        foreground_iou: IoU at or above which an anchor is matched.
        background_iou: IoU below which an anchor is background; between the
            two it is ignored. Must not exceed ``foreground_iou``.
        allow_low_quality_matches: also match, for each ground-truth box, the
            anchors with the highest IoU to it (ties included) when that IoU is
            above 0, even below ``foreground_iou`` (Faster R-CNN's RPN rule).
            Such an anchor gets the box it overlaps most, as in torchvision.

    Returns:
        int32 [N, A]: a ground-truth index in ``[0, M)``, ``BACKGROUND`` or ``IGNORE``.
    """
    if background_iou > foreground_iou:
        raise ValueError(f"background_iou ({background_iou}) must not exceed foreground_iou ({foreground_iou})")
    gt_boxes = tf.cast(gt_boxes, tf.float32)
    valid = tf.convert_to_tensor(gt_classes) >= 0
    iou = box_ops.pairwise_iou(tf.cast(anchors, tf.float32), gt_boxes)  # [N, A, M]
    iou = tf.where(valid[:, None, :], iou, -1.0)
    # A padding column keeps argmax defined when M is 0; its IoU of -1 can never match.
    pad = tf.fill(tf.concat([tf.shape(iou)[:-1], [1]], 0), -1.0)
    iou = tf.concat([iou, pad], axis=-1)

    best_iou = tf.reduce_max(iou, axis=-1)
    best_gt = tf.argmax(iou, axis=-1, output_type=tf.int32)
    matches = tf.where(
        best_iou >= foreground_iou,
        best_gt,
        tf.where(best_iou < background_iou, BACKGROUND, IGNORE),
    )
    if allow_low_quality_matches:
        best_per_gt = tf.reduce_max(iou, axis=-2, keepdims=True)  # [N, 1, M + 1]
        is_best = tf.logical_and(tf.equal(iou, best_per_gt), best_per_gt > 0.0)
        matches = tf.where(tf.reduce_any(is_best, axis=-1), best_gt, matches)
    return matches


def gather_matched(values, matches, background_value=0, ignore_value=None):
    """Per-anchor values of the matched ground truth (classes, boxes, ...).

    Args:
        values: [N, M, ...] per ground-truth values.
        matches: int32 [N, A] from ``match_boxes``.
        background_value: value for ``BACKGROUND`` anchors.
        ignore_value: value for ``IGNORE`` anchors; defaults to ``background_value``.

    Returns:
        [N, A, ...] with the dtype of ``values``.
    """
    values = tf.convert_to_tensor(values)
    matches = tf.convert_to_tensor(matches, tf.int32)
    if ignore_value is None:
        ignore_value = background_value
    # Unmatched anchors read an appended zero row, so that M = 0 still gathers in range.
    shape = tf.shape(values)
    pad = tf.zeros(tf.concat([shape[:1], [1], shape[2:]], 0), values.dtype)
    padded = tf.concat([values, pad], axis=1)
    num_gt = tf.shape(values, out_type=matches.dtype)[1]
    gathered = tf.gather(padded, tf.where(matches >= 0, matches, num_gt), batch_dims=1)
    extra_dims = tf.rank(gathered) - tf.rank(matches)
    mask_shape = tf.concat([tf.shape(matches), tf.ones([extra_dims], tf.int32)], 0)
    background = tf.reshape(tf.equal(matches, BACKGROUND), mask_shape)
    ignore = tf.reshape(tf.equal(matches, IGNORE), mask_shape)
    gathered = tf.where(background, tf.cast(background_value, values.dtype), gathered)
    return tf.where(ignore, tf.cast(ignore_value, values.dtype), gathered)
