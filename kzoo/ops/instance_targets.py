"""Mask and keypoint targets of sampled RoIs, built inside the training graph.

Mask R-CNN trains its mask head on the positive RoIs of the RoI sample: the
target of a RoI is the mask of the ground-truth object it matched, cropped to
the RoI and resampled to the head's ``m x m`` grid (bilinear, at the centre
of every cell), then binarized at 0.5. The keypoint head's targets are the
matched object's joints, each as one cell of the RoI's heatmap
(``kzoo.losses.keypoint_heatmap_targets``).

Both work on batched, padded ground truth and on ``RoISampler``'s
``matches`` (the matched ground-truth row of each positive, -1 otherwise).
"""

import tensorflow as tf

from kzoo.ops import roi_sampling


def gather_matched(values, matches):
    """Each RoI's matched ground-truth row: ``values`` [N, M, ...], ``matches`` int [N, R] -> [N, R, ...].

    Rows of unmatched RoIs (``matches < 0``) read row 0; callers mask them.
    """
    return tf.gather(values, tf.maximum(tf.cast(matches, tf.int32), 0), batch_dims=1)


def mask_targets(gt_masks, rois, matches, mask_size, threshold=0.5):
    """The binary ``m x m`` mask target of every RoI.

    Args:
        gt_masks: [N, M, H, W] instance masks (uint8 or float, 1 inside).
        rois: float [N, R, 4] normalized RoIs.
        matches: int [N, R] matched ground-truth row, -1 for none.
        mask_size: int or ``(mh, mw)``, the mask head's output grid.
        threshold: a resampled value at or above it is inside the object.

    Returns:
        float32 [N, R, mh, mw] in {0, 1}: the matched mask bilinearly sampled
        at the centre of each cell of the RoI's grid (``RoIAlign`` with one
        sample per cell), binarized; zeros where ``matches < 0``.
    """
    mh, mw = roi_sampling._pair(mask_size, "mask_size")
    rois = tf.cast(rois, tf.float32)
    n, r = tf.shape(rois)[0], tf.shape(rois)[1]
    height, width = tf.shape(gt_masks)[2], tf.shape(gt_masks)[3]
    matched = tf.cast(gather_matched(gt_masks, matches), tf.float32)
    # Every RoI as a one-channel image holding its own mask, with itself as the one box.
    crops = roi_sampling.roi_align(
        tf.reshape(matched, [-1, height, width, 1]), tf.reshape(rois, [-1, 1, 4]), (mh, mw), sampling_ratio=1
    )
    crops = tf.reshape(crops, [n, r, mh, mw])
    inside = tf.cast(crops >= threshold, tf.float32)
    return tf.where((matches >= 0)[..., None, None], inside, 0.0)
