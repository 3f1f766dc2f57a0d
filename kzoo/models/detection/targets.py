"""Training targets shared by the single-stage detectors, built per element in ``tf.data``.

Every function here takes one unbatched dataset element (docs/design.md,
"The dataset element"; any number of objects M, including none) and returns
tensors of a fixed shape that depends only on the anchors, so batches are
dense.

Ground truth is cleaned first: boxes are clipped to the image, and a box that
is empty after clipping (zero or negative height or width, or not finite) is
dropped by giving it class -1, the padding id that never matches. Crowd
regions (``is_crowd``, COCO) never make positives: anchors whose best match is
a crowd box are ignored.
"""

import tensorflow as tf

from kzoo.ops import box_coding
from kzoo.ops import boxes as box_ops
from kzoo.ops import matching


def resize_image(element, image_size):
    """The element's image as float32 [H, W, 3] in [0, 255] at ``image_size`` (height, width)."""
    return tf.image.resize(tf.cast(element["image"], tf.float32), tuple(image_size))


def clean_groundtruth(element):
    """(boxes [M, 4] clipped to the image, classes int32 [M] with -1 for dropped boxes, crowd bool [M]).

    A box is dropped when, once clipped, it has no area, or when any
    coordinate is not finite (its row becomes zeros so that it cannot leak a
    NaN into IoUs).
    """
    boxes = tf.convert_to_tensor(element["boxes"], tf.float32)
    classes = tf.cast(element["classes"], tf.int32)
    finite = tf.reduce_all(tf.math.is_finite(boxes), axis=-1)
    boxes = box_ops.clip_to_unit(tf.where(finite[:, None], boxes, 0.0))
    keep = finite & box_ops.is_valid(boxes) & (classes >= 0)
    crowd = element["is_crowd"] if "is_crowd" in element else tf.zeros_like(keep)
    return boxes, tf.where(keep, classes, -1), tf.cast(crowd, tf.bool) & keep


def anchor_targets(
    element,
    anchors,
    foreground_iou,
    background_iou,
    allow_low_quality_matches,
    box_weights,
):
    """Per-anchor class labels and box regression targets of one element.

    Args:
        element: an unbatched dataset element.
        anchors: float32 [A, 4] normalized anchors (or sliding windows).
        foreground_iou, background_iou, allow_low_quality_matches: as
            ``kzoo.ops.matching.match_boxes``.
        box_weights: ``(wy, wx, wh, ww)`` of the box coding.

    Returns:
        ``(labels, box_targets)``: labels int32 [A] in the matcher's
        convention (class id for a positive, -1 background, -2 ignored);
        box_targets float32 [A, 5], the encoded deltas of the matched box and,
        last, the anchor's regression weight (1 for positives, else 0, with
        zero deltas), as ``kzoo.losses.SmoothL1Loss`` reads them.
    """
    anchors = tf.convert_to_tensor(anchors, tf.float32)
    boxes, classes, crowd = clean_groundtruth(element)
    matches = matching.match_boxes(
        anchors, boxes[None], classes[None], foreground_iou, background_iou, allow_low_quality_matches
    )
    labels = matching.gather_matched(
        classes[None], matches, background_value=matching.BACKGROUND, ignore_value=matching.IGNORE
    )[0]
    on_crowd = matching.gather_matched(crowd[None], matches, background_value=False)[0]
    labels = tf.where(on_crowd, matching.IGNORE, labels)
    matched_boxes = matching.gather_matched(boxes[None], matches, background_value=0.0)[0]
    positive = labels >= 0
    # Background anchors would encode a zero box to huge (finite) deltas; they carry zero weight anyway.
    deltas = tf.where(positive[:, None], box_coding.encode_boxes(matched_boxes, anchors, box_weights), 0.0)
    return labels, tf.concat([deltas, tf.cast(positive, tf.float32)[:, None]], axis=-1)


def with_background_class(labels):
    """Matcher labels -> softmax labels: background 0, class ``c`` -> ``c + 1``, ignored -1."""
    return tf.where(labels == matching.IGNORE, -1, labels + 1)
