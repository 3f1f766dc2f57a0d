"""Box geometry on kzoo's one box format.

Every box inside kzoo is float32 ``[ymin, xmin, ymax, xmax]``, normalized to
[0, 1] by image height and width (the ``tf.image`` convention). COCO's absolute
``[x, y, w, h]`` appears only at the edges, through ``to_coco_xywh`` and
``from_coco_xywh``. All functions accept any leading batch dimensions and work
in graphs (including TFLite builtins).
"""

import tensorflow as tf


def _split(boxes):
    boxes = tf.cast(tf.convert_to_tensor(boxes), tf.float32)
    ymin, xmin, ymax, xmax = tf.unstack(boxes, 4, axis=-1)
    return ymin, xmin, ymax, xmax


def area(boxes):
    """Area of each box; zero (never negative) for degenerate boxes. [..., 4] -> [...]."""
    ymin, xmin, ymax, xmax = _split(boxes)
    return tf.maximum(ymax - ymin, 0.0) * tf.maximum(xmax - xmin, 0.0)


def pairwise_intersection(boxes1, boxes2):
    """Intersection areas of every pair. [..., N, 4], [..., M, 4] -> [..., N, M]."""
    y1a, x1a, y2a, x2a = _split(boxes1)
    y1b, x1b, y2b, x2b = _split(boxes2)
    h = tf.minimum(y2a[..., :, None], y2b[..., None, :]) - tf.maximum(
        y1a[..., :, None], y1b[..., None, :]
    )
    w = tf.minimum(x2a[..., :, None], x2b[..., None, :]) - tf.maximum(
        x1a[..., :, None], x1b[..., None, :]
    )
    return tf.maximum(h, 0.0) * tf.maximum(w, 0.0)


def pairwise_iou(boxes1, boxes2):
    """Intersection over union of every pair. [..., N, 4], [..., M, 4] -> [..., N, M].

    Pairs whose union is empty (two degenerate boxes) get IoU 0.
    """
    inter = pairwise_intersection(boxes1, boxes2)
    union = area(boxes1)[..., :, None] + area(boxes2)[..., None, :] - inter
    return tf.math.divide_no_nan(inter, union)


def elementwise_iou(boxes1, boxes2):
    """IoU of matching pairs. [..., 4], [..., 4] -> [...]."""
    y1a, x1a, y2a, x2a = _split(boxes1)
    y1b, x1b, y2b, x2b = _split(boxes2)
    h = tf.maximum(tf.minimum(y2a, y2b) - tf.maximum(y1a, y1b), 0.0)
    w = tf.maximum(tf.minimum(x2a, x2b) - tf.maximum(x1a, x1b), 0.0)
    inter = h * w
    union = area(boxes1) + area(boxes2) - inter
    return tf.math.divide_no_nan(inter, union)


def clip_to_unit(boxes):
    """Clip normalized boxes to the image, [0, 1]."""
    return tf.clip_by_value(tf.cast(tf.convert_to_tensor(boxes), tf.float32), 0.0, 1.0)


def is_valid(boxes, min_size=0.0):
    """True where a box has height and width larger than ``min_size``."""
    ymin, xmin, ymax, xmax = _split(boxes)
    return tf.logical_and(ymax - ymin > min_size, xmax - xmin > min_size)


def centers_and_sizes(boxes):
    """``[ymin, xmin, ymax, xmax]`` -> (cy, cx, h, w), each [...]."""
    ymin, xmin, ymax, xmax = _split(boxes)
    return (ymin + ymax) * 0.5, (xmin + xmax) * 0.5, ymax - ymin, xmax - xmin


def from_centers_and_sizes(cy, cx, h, w):
    """(cy, cx, h, w) -> ``[ymin, xmin, ymax, xmax]`` stacked on the last axis."""
    return tf.stack([cy - h * 0.5, cx - w * 0.5, cy + h * 0.5, cx + w * 0.5], axis=-1)


def to_absolute(boxes, height, width):
    """Normalized boxes -> pixel boxes ``[ymin, xmin, ymax, xmax]``."""
    scale = tf.cast(tf.stack([height, width, height, width]), tf.float32)
    return tf.cast(tf.convert_to_tensor(boxes), tf.float32) * scale


def to_normalized(boxes, height, width):
    """Pixel boxes ``[ymin, xmin, ymax, xmax]`` -> normalized boxes."""
    scale = tf.cast(tf.stack([height, width, height, width]), tf.float32)
    return tf.cast(tf.convert_to_tensor(boxes), tf.float32) / scale


def to_coco_xywh(boxes, height, width):
    """Normalized ``[ymin, xmin, ymax, xmax]`` -> COCO absolute ``[x, y, w, h]``."""
    ymin, xmin, ymax, xmax = _split(to_absolute(boxes, height, width))
    return tf.stack([xmin, ymin, xmax - xmin, ymax - ymin], axis=-1)


def from_coco_xywh(boxes, height, width):
    """COCO absolute ``[x, y, w, h]`` -> normalized ``[ymin, xmin, ymax, xmax]``."""
    boxes = tf.cast(tf.convert_to_tensor(boxes), tf.float32)
    x, y, w, h = tf.unstack(boxes, 4, axis=-1)
    return to_normalized(tf.stack([y, x, y + h, x + w], axis=-1), height, width)
