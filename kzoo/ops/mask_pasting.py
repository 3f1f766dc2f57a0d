"""Box-relative instance masks pasted into the image, as a graph op (TFLite builtins only).

A mask head predicts an ``h x w`` mask per detection, relative to its box.
To paste it, every image pixel inside the box reads the mask bilinearly at
its centre; pixels outside the box are 0. Bilinear resampling is separable:
with ``Wy`` [H, h] the interpolation weights of the image rows (tent
weights ``max(0, 1 - |p - a|)`` at the row's position ``p`` in mask cells,
zero outside the box) and ``Wx`` [W, w] those of the columns, the pasted
mask is ``Wy @ mask @ Wx^T``: two batched matrix products, no gathers, no
loops, any number of detections at once.
"""

import tensorflow as tf


def _axis_weights(low, high, size, cells):
    """Tent interpolation weights [N, K, size, cells] of pixel centres along one axis, 0 outside [low, high)."""
    centres = tf.range(size, dtype=tf.float32) + 0.5
    low, high = low[..., None], high[..., None]
    inside = tf.cast((centres >= low) & (centres < high), tf.float32)
    extent = tf.maximum(high - low, 1e-12)
    position = tf.clip_by_value((centres - low) / extent * cells - 0.5, 0.0, cells - 1.0)
    distance = tf.abs(position[..., None] - tf.range(cells, dtype=tf.float32))
    return tf.nn.relu(1.0 - distance) * inside[..., None]


def paste_masks(masks, boxes, height, width, threshold=0.5):
    """Paste box-relative masks into ``height x width`` images.

    Args:
        masks: float [N, K, h, w] mask probabilities (``detection_masks``).
        boxes: float [N, K, 4] normalized ``[ymin, xmin, ymax, xmax]``.
        height, width: output size in pixels (ints or scalar tensors).
        threshold: a pixel is in the object where the resampled probability
            is >= ``threshold``; None returns the probabilities.

    Returns:
        uint8 [N, K, height, width] binary masks (float32 probabilities when
        ``threshold`` is None), 0 outside each box.
    """
    masks = tf.cast(masks, tf.float32)
    boxes = tf.cast(boxes, tf.float32)
    cells_y, cells_x = masks.shape[-2], masks.shape[-1]
    if cells_y is None or cells_x is None:
        raise ValueError(f"masks need a static [h, w], got {masks.shape}")
    h = tf.cast(height, tf.float32)
    w = tf.cast(width, tf.float32)
    rows = _axis_weights(boxes[..., 0] * h, boxes[..., 2] * h, height, cells_y)
    cols = _axis_weights(boxes[..., 1] * w, boxes[..., 3] * w, width, cells_x)
    # Rank-3 products over N * K with an explicit transpose: the forms every TFLite delegate (XNNPack) runs.
    n, k = tf.shape(masks)[0], tf.shape(masks)[1]
    rows = tf.reshape(rows, [-1, tf.shape(rows)[2], cells_y])
    cols = tf.transpose(tf.reshape(cols, [-1, tf.shape(cols)[2], cells_x]), [0, 2, 1])
    pasted = tf.matmul(tf.matmul(rows, tf.reshape(masks, [-1, cells_y, cells_x])), cols)
    pasted = tf.reshape(pasted, [n, k, tf.shape(rows)[1], tf.shape(cols)[2]])
    if threshold is None:
        return pasted
    return tf.cast(pasted >= threshold, tf.uint8)
