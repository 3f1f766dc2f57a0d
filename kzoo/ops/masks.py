"""Instance masks pasted into the image: the host-side NumPy form, for evaluation and pictures.

Mask heads predict a small mask per detection in the detection's box
(``detection_masks`` [K, h, w], probabilities). Evaluation and drawing need
full-image binary masks: each small mask is resampled bilinearly at the
centers of the image pixels that fall inside its box, then thresholded, as
Mask R-CNN does.

Unlike the rest of ``kzoo.ops`` this is NumPy, run on the host over the
prediction dicts a model returned, never inside a graph. It lives here, at
the bottom of the package layering, so that ``kzoo.data`` (COCO results),
``kzoo.metrics`` and ``kzoo.viz`` can all use it without importing one
another.
"""

import numpy as np


def paste_masks(masks, boxes, height, width, threshold=0.5, chunk=16):
    """Pastes box-relative masks into the image (NumPy, on the host).

    Args:
        masks: float [K, h, w] mask probabilities relative to each box.
        boxes: float [K, 4] normalized ``[ymin, xmin, ymax, xmax]``.
        height: image height in pixels.
        width: image width in pixels.
        threshold: a pixel belongs to the object where the resampled
            probability is >= ``threshold``.
        chunk: masks resampled at a time (bounds the float memory).

    Returns:
        uint8 [K, height, width] binary masks, 0 outside each box.

    Example:
        >>> full = paste_masks(np.ones((1, 28, 28)), [[0.25, 0.25, 0.75, 0.75]], 8, 8)
        >>> int(full.sum())
        16
    """
    masks = np.asarray(masks, np.float32)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if masks.ndim != 3 or len(masks) != len(boxes):
        raise ValueError(f"masks must be [K, h, w] with one box each, got {masks.shape} and {boxes.shape}")
    out = np.zeros((len(masks), height, width), np.uint8)
    for start in range(0, len(masks), chunk):
        stop = start + chunk
        out[start:stop] = _paste(masks[start:stop], boxes[start:stop], height, width, threshold)
    return out


def _sample_axis(low, high, size, cells):
    """Bilinear source indices and weights along one axis, and which pixels are inside."""
    centers = np.arange(size, dtype=np.float64) + 0.5
    extent = np.maximum(high - low, 1e-12)[:, None]
    inside = (centers >= low[:, None]) & (centers < high[:, None])
    position = np.clip((centers - low[:, None]) / extent * cells - 0.5, 0.0, cells - 1.0)
    lower = np.floor(position).astype(np.int64)
    upper = np.minimum(lower + 1, cells - 1)
    return lower, upper, (position - lower).astype(np.float32), inside


def _paste(masks, boxes, height, width, threshold):
    k, h, w = masks.shape
    y_lo, y_hi, y_w, y_in = _sample_axis(boxes[:, 0] * height, boxes[:, 2] * height, height, h)
    x_lo, x_hi, x_w, x_in = _sample_axis(boxes[:, 1] * width, boxes[:, 3] * width, width, w)
    rows = np.take_along_axis(masks, y_lo[:, :, None], axis=1) * (1 - y_w[:, :, None]) + np.take_along_axis(
        masks, y_hi[:, :, None], axis=1
    ) * y_w[:, :, None]
    full = np.take_along_axis(rows, x_lo[:, None, :], axis=2) * (1 - x_w[:, None, :]) + np.take_along_axis(
        rows, x_hi[:, None, :], axis=2
    ) * x_w[:, None, :]
    inside = y_in[:, :, None] & x_in[:, None, :]
    return ((full >= threshold) & inside).astype(np.uint8)
