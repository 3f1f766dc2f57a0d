"""Mask IoU."""

import numpy as np

import kzoo.metrics
import kzoo.ops.masks
from kzoo.metrics import mask_iou


def test_paste_masks_is_reexported_from_ops():
    assert kzoo.metrics.paste_masks is kzoo.ops.masks.paste_masks


def test_mask_iou_by_hand():
    a = np.zeros((2, 4, 4), np.uint8)
    a[0, :2, :2] = 1
    b = np.zeros((2, 4, 4), np.uint8)
    b[0, :2, :] = 1
    np.testing.assert_allclose(mask_iou(a, b), [[4 / 8, 0], [0, 0]])
