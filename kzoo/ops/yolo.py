"""YOLO (v1) output parameterization: the raw grid as boxes, confidences and class probabilities.

The last axis of YOLO's ``S x S x (5B + C)`` output holds, for each of the B
boxes of a cell, ``(y, x, sqrt_h, sqrt_w, confidence)``, then the C class
scores of the cell. As in the paper, ``(y, x)`` is the box centre's offset
inside its cell, ``(sqrt_h, sqrt_w)`` the square roots of its size relative to
the image, and the confidence predicts the IoU of the box with the object.
The paper's last layer is linear; here a logistic keeps each of these five in
its range [0, 1] and a softmax makes the class scores probabilities.
"""

import tensorflow as tf

from kzoo.ops import boxes as box_ops


def cell_corners(grid_height, grid_width):
    """Row and column indices, float32 [S_h, 1, 1] and [1, S_w, 1], to broadcast against a grid."""
    rows = tf.range(grid_height, dtype=tf.float32)[:, None, None]
    cols = tf.range(grid_width, dtype=tf.float32)[None, :, None]
    return rows, cols


def split_yolo_output(output, num_boxes):
    """YOLO output [N, S, S, 5B + C] -> its parts.

    Returns:
        dict of ``offsets`` [N, S, S, B, 2] (centre inside the cell, y then x),
        ``sqrt_sizes`` [N, S, S, B, 2], ``confidence`` [N, S, S, B],
        ``class_probs`` [N, S, S, C] and ``boxes`` [N, S, S, B, 4]
        (normalized ``[ymin, xmin, ymax, xmax]``, not clipped).
    """
    output = tf.convert_to_tensor(output)
    grid_h, grid_w = output.shape[1], output.shape[2]
    size = 5 * num_boxes
    boxes = tf.sigmoid(tf.reshape(output[..., :size], tf.concat([tf.shape(output)[:3], [num_boxes, 5]], 0)))
    offsets, sqrt_sizes, confidence = boxes[..., 0:2], boxes[..., 2:4], boxes[..., 4]
    rows, cols = cell_corners(grid_h, grid_w)
    cy = (rows + offsets[..., 0]) / grid_h
    cx = (cols + offsets[..., 1]) / grid_w
    sizes = tf.square(sqrt_sizes)
    return {
        "offsets": offsets,
        "sqrt_sizes": sqrt_sizes,
        "confidence": confidence,
        "class_probs": tf.nn.softmax(output[..., size:], axis=-1),
        "boxes": box_ops.from_centers_and_sizes(cy, cx, sizes[..., 0], sizes[..., 1]),
    }


def yolo_detections(output, num_boxes):
    """YOLO output [N, S, S, 5B + C] -> ``(boxes, scores)`` of every predicted box, for NMS.

    Boxes are clipped to the image, float32 [N, S * S * B, 4] in (row,
    column, box) order; scores are the class-specific confidences
    ``Pr(class | object) * confidence``, float32 [N, S * S * B, C].
    """
    output = tf.convert_to_tensor(output)
    grid_h, grid_w, num_classes = output.shape[1], output.shape[2], output.shape[3] - 5 * num_boxes
    parts = split_yolo_output(output, num_boxes)
    batch = tf.shape(output)[:1]
    count = grid_h * grid_w * num_boxes
    boxes = tf.reshape(tf.clip_by_value(parts["boxes"], 0.0, 1.0), tf.concat([batch, [count, 4]], 0))
    scores = parts["confidence"][..., None] * parts["class_probs"][:, :, :, None, :]
    return boxes, tf.reshape(scores, tf.concat([batch, [count, num_classes]], 0))
