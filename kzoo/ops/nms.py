"""Batched multi-class non-maximum suppression with fixed, padded outputs.

Built only from ops that TFLite has as builtins (TOPK_V2, GATHER,
NON_MAX_SUPPRESSION_V5, WHILE), so a detector converts with its NMS inside
the graph. ``tf.image.combined_non_max_suppression`` does the same job in TF
but has no TFLite builtin.

How it stays fast:

1. Pre-NMS top-k over (anchor, class) pairs. The best ``k`` pairs always lie
   among the ``k`` anchors with the best class score (an anchor whose best
   score is below ``k`` other anchors' has ``k`` better pairs above it), so
   one cheap top-k over ``[N, A]`` max-scores and a second over ``[N, k * C]``
   replace a top-k over all ``A * C`` pairs.
2. Per-class NMS as one NMS call per image: each class is moved to its own
   region of the plane (the class-offset trick), so boxes of different
   classes never overlap. Classes are laid on a square grid of regions,
   which keeps coordinates small and their float32 rounding near 1e-6.
3. Batch images in one ``tf.while_loop`` (TFLite WHILE), or none at batch 1.
"""

import math

import tensorflow as tf


def _static_or_dynamic(tensor, axis):
    static = tensor.shape[axis]
    return static if static is not None else tf.shape(tensor)[axis]


def _min(a, b):
    if isinstance(a, int) and isinstance(b, int):
        return min(a, b)
    return tf.minimum(a, b)


def select_top_candidates(scores, k, class_agnostic=False):
    """The ``k`` best candidates of each image before NMS.

    Args:
        scores: float32 [N, A, C].
        k: candidates to keep (fewer if there are fewer pairs).
        class_agnostic: rank anchors by their best class only (one candidate
            per anchor) instead of ranking (anchor, class) pairs.

    Returns:
        ``(anchor_index int32 [N, K], scores [N, K], classes int32 [N, K])``,
        sorted by descending score. Gather boxes with
        ``tf.gather(boxes, anchor_index, batch_dims=1)``.
    """
    scores = tf.cast(scores, tf.float32)
    num_anchors = _static_or_dynamic(scores, 1)
    num_classes = _static_or_dynamic(scores, 2)
    best = tf.reduce_max(scores, axis=-1)
    k_anchors = _min(k, num_anchors)
    top_scores, anchor_index = tf.math.top_k(best, k=k_anchors)
    if class_agnostic or num_classes == 1:
        classes = tf.argmax(tf.gather(scores, anchor_index, batch_dims=1), axis=-1, output_type=tf.int32)
        return anchor_index, top_scores, classes

    pair_scores = tf.gather(scores, anchor_index, batch_dims=1)  # [N, k, C]
    flat = tf.reshape(pair_scores, tf.stack([tf.shape(scores)[0], -1]))
    top_scores, pair_index = tf.math.top_k(flat, k=_min(k, k_anchors * num_classes))
    classes = pair_index % num_classes
    return tf.gather(anchor_index, pair_index // num_classes, batch_dims=1), top_scores, classes


def class_offset_boxes(boxes, classes, num_classes):
    """Shift each class's boxes to its own region so that no two classes overlap.

    Args:
        boxes: float32 [N, K, 4] (any coordinates).
        classes: int32 [N, K] in ``[0, num_classes)``.
        num_classes: number of classes (a Python int).

    Returns:
        float32 [N, K, 4]. IoUs within a class are unchanged (up to float32
        rounding); across classes they are 0.
    """
    columns = max(1, math.ceil(math.sqrt(num_classes)))
    low = tf.reduce_min(boxes, axis=[1, 2], keepdims=True)
    # Regions one unit wider than the boxes' extent leave a gap between classes.
    span = tf.reduce_max(boxes, axis=[1, 2], keepdims=True) - low + 1.0
    row = tf.cast(classes // columns, tf.float32)
    col = tf.cast(classes % columns, tf.float32)
    offset = tf.stack([row, col, row, col], axis=-1) * span
    return boxes - low + offset


def _nms_one_image(boxes, scores, max_detections, iou_threshold, score_threshold):
    indices, _, valid = tf.raw_ops.NonMaxSuppressionV5(
        boxes=boxes,
        scores=scores,
        max_output_size=max_detections,
        iou_threshold=iou_threshold,
        score_threshold=score_threshold,
        soft_nms_sigma=0.0,
        pad_to_max_output_size=True,
    )
    return indices, valid


def _nms_batch(boxes, scores, max_detections, iou_threshold, score_threshold):
    """Selected indices [N, max_detections] (padded with 0) and counts [N]."""
    args = (max_detections, float(iou_threshold), float(score_threshold))
    if boxes.shape[0] == 1:
        indices, valid = _nms_one_image(boxes[0], scores[0], *args)
        return indices[None], valid[None]
    batch = tf.shape(boxes)[0]

    # Results go into fixed-shape loop variables: TFLite's WHILE runs this,
    # whereas tf.map_fn's TensorList form fails in the interpreter.
    def body(i, all_indices, all_valid):
        indices, valid = _nms_one_image(boxes[i], scores[i], *args)
        all_indices = tf.tensor_scatter_nd_update(all_indices, [[i]], indices[None])
        all_valid = tf.tensor_scatter_nd_update(all_valid, [[i]], valid[None])
        return i + 1, all_indices, all_valid

    init = (tf.constant(0), tf.zeros(tf.stack([batch, max_detections]), tf.int32), tf.zeros([batch], tf.int32))
    _, indices, valid = tf.while_loop(lambda i, *_: i < batch, body, init)
    return indices, valid


def nms_candidates(
    boxes,
    scores,
    classes,
    num_classes,
    max_detections=100,
    iou_threshold=0.5,
    score_threshold=0.05,
    class_agnostic=False,
):
    """NMS on pre-selected candidates (``select_top_candidates``'s output, boxes gathered).

    Args:
        boxes: float32 [N, K, 4]; scores float32 [N, K]; classes int32 [N, K].
        num_classes: C (a Python int), for the class offsets.
        Other arguments as ``multiclass_nms``.

    Returns:
        The detection dict of ``multiclass_nms``.
    """
    boxes = tf.cast(boxes, tf.float32)
    scores = tf.cast(scores, tf.float32)
    classes = tf.convert_to_tensor(classes, tf.int32)
    # One never-selected candidate keeps padded NMS indices in range even with no anchors. It scores the
    # threshold itself (NMS keeps only higher scores), not -inf: an int8 TFLite file would quantize the
    # scores with that constant's range, and every score would become 0.
    batch = tf.shape(scores)[:1]
    boxes = tf.concat([boxes, tf.zeros(tf.concat([batch, [1, 4]], 0))], axis=1)
    scores = tf.concat([scores, tf.fill(tf.concat([batch, [1]], 0), float(score_threshold))], axis=1)
    classes = tf.concat([classes, tf.zeros(tf.concat([batch, [1]], 0), tf.int32)], axis=1)

    nms_boxes = boxes
    if not class_agnostic and num_classes > 1:
        nms_boxes = class_offset_boxes(boxes, classes, num_classes)
    indices, valid = _nms_batch(nms_boxes, scores, max_detections, iou_threshold, score_threshold)

    keep = tf.range(max_detections)[None, :] < valid[:, None]
    return {
        "detection_boxes": tf.where(keep[..., None], tf.gather(boxes, indices, batch_dims=1), 0.0),
        "detection_scores": tf.where(keep, tf.gather(scores, indices, batch_dims=1), 0.0),
        "detection_classes": tf.where(keep, tf.gather(classes, indices, batch_dims=1), 0),
        "num_detections": valid,
    }


def multiclass_nms(
    boxes,
    scores,
    max_detections=100,
    iou_threshold=0.5,
    score_threshold=0.05,
    pre_nms_top_k=1000,
    class_agnostic=False,
):
    """Per-class (or class-agnostic) NMS for a batch, with fixed padded outputs.

    Args:
        boxes: float32 [N, A, 4] decoded boxes, shared by all classes.
        scores: float32 [N, A, C] class scores (any monotone scale: NMS only
            compares them with each other and with ``score_threshold``).
        max_detections: K, detections kept per image.
        iou_threshold: a box is suppressed by a better one of its class (of any
            class if ``class_agnostic``) whose IoU with it is above this.
        score_threshold: only candidates scoring above this are kept.
        pre_nms_top_k: candidates per image entering NMS, the best (anchor,
            class) pairs (best anchors if ``class_agnostic``).
        class_agnostic: one NMS over all classes; each anchor takes its best class.

    Returns:
        dict of ``detection_boxes`` float32 [N, K, 4], ``detection_scores``
        float32 [N, K], ``detection_classes`` int32 [N, K] (0-based) and
        ``num_detections`` int32 [N]. Detections are sorted by descending score;
        entries past ``num_detections`` are zeros.
    """
    scores = tf.cast(scores, tf.float32)
    num_classes = scores.shape[-1]
    if num_classes is None:
        raise ValueError("scores need a static number of classes")
    anchor_index, cand_scores, cand_classes = select_top_candidates(scores, pre_nms_top_k, class_agnostic)
    cand_boxes = tf.gather(tf.cast(boxes, tf.float32), anchor_index, batch_dims=1)
    return nms_candidates(
        cand_boxes,
        cand_scores,
        cand_classes,
        num_classes,
        max_detections,
        iou_threshold,
        score_threshold,
        class_agnostic,
    )
