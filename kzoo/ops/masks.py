"""Instance masks pasted into the image on the host, for evaluation, pictures and ``kzoo predict``.

Mask heads predict a small mask per detection in the detection's box
(``detection_masks`` [K, h, w], probabilities). Evaluation and drawing need
full-image binary masks. This is the host-side entry point over one image's
prediction arrays: it runs the same graph op that exports hold
(``kzoo.ops.mask_pasting.paste_masks``), a few masks at a time, and returns
NumPy. It lives at the bottom of the package layering so that ``kzoo.data``
(COCO results), ``kzoo.metrics`` and ``kzoo.viz`` can all use it without
importing one another.
"""

import numpy as np

from kzoo.ops import mask_pasting


def paste_masks(masks, boxes, height, width, threshold=0.5, chunk=16):
    """Pastes box-relative masks into the image (NumPy in and out).

    Args:
        masks: float [K, h, w] mask probabilities relative to each box.
        boxes: float [K, 4] normalized ``[ymin, xmin, ymax, xmax]``.
        height: image height in pixels.
        width: image width in pixels.
        threshold: a pixel belongs to the object where the resampled
            probability is >= ``threshold``.
        chunk: masks pasted at a time (bounds the float memory).

    Returns:
        uint8 [K, height, width] binary masks, 0 outside each box.

    Example:
        >>> full = paste_masks(np.ones((1, 28, 28)), [[0.25, 0.25, 0.75, 0.75]], 8, 8)
        >>> int(full.sum())
        16
    """
    masks = np.asarray(masks, np.float32)
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    if masks.ndim != 3 or len(masks) != len(boxes):
        raise ValueError(f"masks must be [K, h, w] with one box each, got {masks.shape} and {boxes.shape}")
    out = np.zeros((len(masks), height, width), np.uint8)
    for start in range(0, len(masks), chunk):
        stop = start + chunk
        pasted = mask_pasting.paste_masks(masks[None, start:stop], boxes[None, start:stop], height, width, threshold)
        out[start:stop] = pasted[0].numpy()
    return out
