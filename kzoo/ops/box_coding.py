"""Box coding: boxes <-> regression targets relative to anchors.

The deltas are the R-CNN parameterization (Girshick et al., 2014; Ren et al.,
2015), in kzoo's ``[ymin, xmin, ymax, xmax]`` order::

    ty = wy * (cy - cy_a) / h_a      tx = wx * (cx - cx_a) / w_a
    th = wh * log(h / h_a)           tw = ww * log(w / w_a)

``weights = (wy, wx, wh, ww)`` rescale the targets so that they have roughly
unit variance (Faster R-CNN's second stage uses ``(10, 10, 5, 5)``).
Decoding clips the log-scale deltas at ``log(1000 / 16)`` by default, as
Detectron does, so that an untrained head cannot overflow ``exp``.
"""

import math

import tensorflow as tf

from kzoo.ops import boxes as box_ops

DEFAULT_WEIGHTS = (1.0, 1.0, 1.0, 1.0)
DEFAULT_SCALE_CLIP = math.log(1000.0 / 16.0)

# Sizes are floored at this value so that zero-size boxes (padding, or
# degenerate ground truth) encode to large but finite deltas, never -inf/NaN.
_MIN_SIZE = 1e-8


def _weights(weights):
    if len(weights) != 4:
        raise ValueError(f"weights must have 4 entries (wy, wx, wh, ww), got {weights}")
    return [float(w) for w in weights]


def encode_boxes(boxes, anchors, weights=DEFAULT_WEIGHTS):
    """Encode boxes as deltas ``(ty, tx, th, tw)`` relative to anchors.

    Args:
        boxes: float32 [..., 4] target boxes.
        anchors: float32 [..., 4], broadcastable against ``boxes``.
        weights: ``(wy, wx, wh, ww)``.

    Returns:
        float32 deltas with the broadcast shape of the inputs. Always finite.
    """
    wy, wx, wh, ww = _weights(weights)
    cy, cx, h, w = box_ops.centers_and_sizes(tf.cast(boxes, tf.float32))
    cya, cxa, ha, wa = box_ops.centers_and_sizes(tf.cast(anchors, tf.float32))
    ha = tf.maximum(ha, _MIN_SIZE)
    wa = tf.maximum(wa, _MIN_SIZE)
    ty = wy * (cy - cya) / ha
    tx = wx * (cx - cxa) / wa
    th = wh * tf.math.log(tf.maximum(h, _MIN_SIZE) / ha)
    tw = ww * tf.math.log(tf.maximum(w, _MIN_SIZE) / wa)
    return tf.stack([ty, tx, th, tw], axis=-1)


def decode_boxes(deltas, anchors, weights=DEFAULT_WEIGHTS, scale_clip=DEFAULT_SCALE_CLIP):
    """Decode deltas ``(ty, tx, th, tw)`` into boxes; the inverse of ``encode_boxes``.

    Args:
        deltas: float32 [..., 4].
        anchors: float32 [..., 4], broadcastable against ``deltas`` (e.g.
            [A, 4] against [N, A, 4]).
        weights: ``(wy, wx, wh, ww)`` used when encoding.
        scale_clip: upper bound on ``th / wh`` and ``tw / ww`` before ``exp``;
            ``None`` disables the clip.

    Returns:
        float32 boxes ``[ymin, xmin, ymax, xmax]`` (not clipped to the image).
    """
    wy, wx, wh, ww = _weights(weights)
    ty, tx, th, tw = tf.unstack(tf.cast(deltas, tf.float32), 4, axis=-1)
    cya, cxa, ha, wa = box_ops.centers_and_sizes(tf.cast(anchors, tf.float32))
    dh = th / wh
    dw = tw / ww
    if scale_clip is not None:
        dh = tf.minimum(dh, scale_clip)
        dw = tf.minimum(dw, scale_clip)
    cy = ty / wy * ha + cya
    cx = tx / wx * wa + cxa
    h = tf.exp(dh) * ha
    w = tf.exp(dw) * wa
    return box_ops.from_centers_and_sizes(cy, cx, h, w)
