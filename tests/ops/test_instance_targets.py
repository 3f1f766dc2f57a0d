"""Mask targets of sampled RoIs (kzoo.ops.instance_targets) against a NumPy crop-and-resample."""

import numpy as np

from kzoo.ops.instance_targets import gather_matched, mask_targets


def reference_target(mask, box, size, threshold=0.5):
    """Bilinear sample of ``mask`` at the centre of each cell of the box's ``size x size`` grid, binarized."""
    height, width = mask.shape
    y0, x0, y1, x1 = box[0] * height, box[1] * width, box[2] * height, box[3] * width
    out = np.zeros((size, size), np.float32)
    for i in range(size):
        for j in range(size):
            # Pixel centres sit at k + 0.5: measure sample positions from them.
            y = y0 + (i + 0.5) * (y1 - y0) / size - 0.5
            x = x0 + (j + 0.5) * (x1 - x0) / size - 0.5
            y, x = min(max(y, 0.0), height - 1.0), min(max(x, 0.0), width - 1.0)
            a, b = int(np.floor(y)), int(np.floor(x))
            a1, b1 = min(a + 1, height - 1), min(b + 1, width - 1)
            fy, fx = y - a, x - b
            value = ((1 - fy) * (1 - fx) * mask[a, b] + (1 - fy) * fx * mask[a, b1]
                     + fy * (1 - fx) * mask[a1, b] + fy * fx * mask[a1, b1])
            out[i, j] = value >= threshold
    return out


def test_mask_targets_crop_and_resample_the_matched_mask():
    height, width = 24, 32
    masks = np.zeros((2, 3, height, width), np.uint8)
    masks[0, 0, 4:14, 6:20] = 1  # a rectangle
    yy, xx = np.mgrid[:height, :width]
    masks[0, 1] = (yy - 12) ** 2 + (xx - 16) ** 2 <= 64  # a disk
    masks[1, 2, 10:, 20:] = 1  # touches the bottom-right border
    rois = np.array(
        [
            [[0.1, 0.1, 0.7, 0.7], [0.2, 0.2, 0.8, 0.8], [0.0, 0.0, 1.0, 1.0], [0.3, 0.3, 0.6, 0.5]],
            [[0.4, 0.6, 1.0, 1.0], [0.5, 0.5, 1.0, 1.0], [0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 0.0, 0.0]],
        ],
        np.float32,
    )
    matches = np.array([[0, 1, 1, -1], [2, 2, 2, -1]], np.int32)
    got = mask_targets(masks, rois, matches, 7).numpy()
    assert got.shape == (2, 4, 7, 7)
    for n in range(2):
        for r in range(4):
            if matches[n, r] < 0:
                np.testing.assert_array_equal(got[n, r], 0.0)  # unmatched RoIs have no target
                continue
            want = reference_target(masks[n, matches[n, r]].astype(np.float32), rois[n, r], 7)
            np.testing.assert_array_equal(got[n, r], want, err_msg=f"image {n}, RoI {r}")
    assert got[0, 2].sum() > 0 and got[1, 2].sum() == 0  # the whole image sees the disk; an empty corner nothing


def test_gather_matched_reads_each_rois_row():
    values = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)
    got = gather_matched(values, np.array([[2, -1], [1, 0]])).numpy()
    np.testing.assert_array_equal(got, [[values[0, 2], values[0, 0]], [values[1, 1], values[1, 0]]])
