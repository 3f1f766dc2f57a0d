"""Region proposals from RPN outputs: top-k, decode, clip, size filter, NMS, top-k.

Faster R-CNN turns its RPN's per-anchor objectness and box deltas into a
fixed number of class-agnostic proposals per image. Every step keeps a
static shape, so the same function runs in the training graph, the
inference graph and a TFLite file (TOPK_V2, GATHER, NON_MAX_SUPPRESSION_V5), full-integer int8 included:

1. the ``pre_nms_top_k`` anchors with the highest objectness (over all
   pyramid levels at once);
2. their deltas decoded against the anchors and clipped to the image;
3. boxes smaller than ``min_size`` (normalized, either side) dropped;
4. NMS at ``iou_threshold``, keeping at most ``post_nms_top_k``.

Images with fewer surviving boxes are padded with all-zero boxes: a
proposal is real exactly when its area is positive (``proposal_mask``).
"""

import tensorflow as tf

from kzoo.ops import box_coding
from kzoo.ops import boxes as box_ops
from kzoo.ops import nms as nms_ops


def generate_proposals(
    objectness,
    deltas,
    anchors,
    pre_nms_top_k=2000,
    post_nms_top_k=1000,
    iou_threshold=0.7,
    min_size=0.0,
    box_weights=box_coding.DEFAULT_WEIGHTS,
):
    """Fixed-count proposals of every image, best first.

    Args:
        objectness: float [N, A] logits.
        deltas: float [N, A, 4] box deltas.
        anchors: float [A, 4] or [N, A, 4] normalized anchors.
        pre_nms_top_k: anchors kept before NMS (fewer if there are fewer).
        post_nms_top_k: P, proposals returned per image.
        iou_threshold: NMS threshold (0.7 in Faster R-CNN).
        min_size: smallest normalized height and width kept.
        box_weights: ``(wy, wx, wh, ww)`` of the box coding.

    Returns:
        ``(proposals float32 [N, P, 4], scores float32 [N, P])``: scores are
        objectness probabilities, 0 for padding rows (whose boxes are zeros).
    """
    objectness = tf.cast(objectness, tf.float32)
    deltas = tf.cast(deltas, tf.float32)
    anchors = tf.cast(anchors, tf.float32)
    num_anchors = objectness.shape[1]
    k = min(int(pre_nms_top_k), num_anchors) if num_anchors is not None else int(pre_nms_top_k)
    top_logits, index = tf.math.top_k(objectness, k=k)
    top_deltas = tf.gather(deltas, index, batch_dims=1)
    # Anchor centers and sizes are taken before the gather: in the detectors the anchors are a constant, so a
    # full-integer TFLite file holds each of the four as its own constant, quantized over its own range (an
    # anchor height to 1/255 of the largest one), instead of differencing two quantized corners.
    anchor_batch_dims = 1 if anchors.shape.rank == 3 else 0
    top_anchors = [tf.gather(t, index, batch_dims=anchor_batch_dims) for t in box_ops.centers_and_sizes(anchors)]
    boxes = box_ops.clip_to_unit(_decode(top_deltas, top_anchors, box_weights))
    # Boxes that are too small (or empty once clipped) score 0, as does the never-selected candidate that
    # nms_candidates appends: NMS keeps only scores above its threshold of 0. Every score entering NMS thus
    # lies in [0, 1], the sigmoid's range, so a full-integer TFLite file quantizes the tensor as the
    # sigmoid's int8 output (scale 1 / 256); a sentinel outside [0, 1] (-1, or -inf) could stretch that
    # scale until every score dequantizes to 0 and no proposal survives.
    height = boxes[..., 2] - boxes[..., 0]
    width = boxes[..., 3] - boxes[..., 1]
    large = (height > min_size) & (width > min_size) & (height > 0.0) & (width > 0.0)
    scores = tf.where(large, tf.sigmoid(top_logits), 0.0)
    detections = nms_ops.nms_candidates(
        boxes, scores, tf.zeros_like(index), num_classes=1, max_detections=int(post_nms_top_k),
        iou_threshold=float(iou_threshold), score_threshold=0.0, class_agnostic=True,
    )
    return detections["detection_boxes"], detections["detection_scores"]


def _decode(deltas, anchors, weights):
    """``box_coding.decode_boxes`` with anchors given as ``(cy, cx, h, w)``, each [N, K] (the same float ops).

    Each delta component is a product with a one-hot row, summed: exactly the
    component in float (a non-finite delta makes the whole box NaN, so it is
    dropped). Slicing or unstacking would give the four components one shared
    int8 scale, which the converter takes from one of them, clamping the others.
    """
    if len(weights) != 4:
        raise ValueError(f"box_weights must have 4 entries (wy, wx, wh, ww), got {weights}")
    wy, wx, wh, ww = (float(w) for w in weights)
    one_hot = tf.eye(4, dtype=deltas.dtype)
    ty, tx, th, tw = (tf.reduce_sum(deltas * one_hot[i], axis=-1) for i in range(4))
    cya, cxa, ha, wa = anchors
    dh = tf.minimum(th / wh, box_coding.DEFAULT_SCALE_CLIP)
    dw = tf.minimum(tw / ww, box_coding.DEFAULT_SCALE_CLIP)
    return box_ops.from_centers_and_sizes(ty / wy * ha + cya, tx / wx * wa + cxa, tf.exp(dh) * ha, tf.exp(dw) * wa)


def proposal_mask(proposals):
    """bool [..., P]: True for real proposals, False for the all-zero padding rows."""
    return box_ops.area(tf.cast(proposals, tf.float32)) > 0.0
