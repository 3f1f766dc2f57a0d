"""Mask IoU for instance-mask evaluation.

``paste_masks`` (box-relative masks into the image) lives in
``kzoo.ops.masks``; it is re-exported here for ``kzoo.metrics`` users.
"""

import numpy as np

from kzoo.ops.masks import paste_masks

__all__ = ["mask_iou", "paste_masks"]


def mask_iou(masks1, masks2):
    """Pairwise IoU of binary masks. [N, H, W], [M, H, W] -> [N, M]; 0 where both are empty."""
    a = np.asarray(masks1).reshape(len(masks1), -1).astype(np.float64)
    b = np.asarray(masks2).reshape(len(masks2), -1).astype(np.float64)
    inter = a @ b.T
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
