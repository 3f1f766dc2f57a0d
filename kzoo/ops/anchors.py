"""Anchor boxes: pyramid grid anchors, SSD default boxes, YOLO grid cells and sliding windows.

All anchors are float32 ``[ymin, xmin, ymax, xmax]`` normalized to the image,
like every box in kzoo. On each grid the anchors are ordered (row, column,
anchor), which is the order a head output of shape ``[N, H, W, B * 4]``
reshapes into with ``reshape(N, H * W * B, 4)``; levels are concatenated from
the finest to the coarsest.

Aspect ratios are width / height throughout (ratio 2 is a wide box), and a
box keeps its area when its ratio changes: ``h = s / sqrt(r)``,
``w = s * sqrt(r)``.
"""

import math

import tensorflow as tf

from kzoo.ops import boxes as box_ops


def grid_anchors(grid_height, grid_width, stride_y, stride_x, anchor_heights, anchor_widths, offset=0.5):
    """Anchors centred on every cell of one grid.

    Args:
        grid_height, grid_width: number of rows and columns (ints or scalar tensors).
        stride_y, stride_x: normalized cell height and width (pixel stride / image size).
        anchor_heights, anchor_widths: [B] normalized anchor sizes, one per anchor shape.
        offset: where the centre sits inside its cell; 0.5 puts cell ``i`` at
            ``(i + 0.5) * stride``.

    Returns:
        float32 [grid_height * grid_width * B, 4].
    """
    heights = tf.reshape(tf.cast(anchor_heights, tf.float32), [-1])
    widths = tf.reshape(tf.cast(anchor_widths, tf.float32), [-1])
    cy = (tf.cast(tf.range(grid_height), tf.float32) + offset) * tf.cast(stride_y, tf.float32)
    cx = (tf.cast(tf.range(grid_width), tf.float32) + offset) * tf.cast(stride_x, tf.float32)
    shape = tf.stack([tf.size(cy), tf.size(cx), tf.size(heights)])
    anchors = box_ops.from_centers_and_sizes(
        tf.broadcast_to(cy[:, None, None], shape),
        tf.broadcast_to(cx[None, :, None], shape),
        tf.broadcast_to(heights[None, None, :], shape),
        tf.broadcast_to(widths[None, None, :], shape),
    )
    return tf.reshape(anchors, [-1, 4])


def anchor_shapes(size, scales, aspect_ratios):
    """Heights and widths (in the units of ``size``) of the anchors at one location.

    Scales vary slowest, aspect ratios fastest, so ``B = len(scales) * len(aspect_ratios)``.
    Returns two Python lists of length B.
    """
    heights, widths = [], []
    for scale in scales:
        for ratio in aspect_ratios:
            side = float(size) * float(scale)
            heights.append(side / math.sqrt(ratio))
            widths.append(side * math.sqrt(ratio))
    return heights, widths


def pyramid_anchors(image_height, image_width, strides, sizes, scales, aspect_ratios, offset=0.5):
    """Anchors of a feature pyramid (RetinaNet, FPN, Faster R-CNN), all levels concatenated.

    Level ``l`` has a grid of ``ceil(H / stride_l) x ceil(W / stride_l)`` cells
    (the size a "same"-padded backbone produces) and, at each cell,
    ``len(scales) * len(aspect_ratios)`` anchors of base size ``sizes[l]``
    pixels.

    Args:
        image_height, image_width: image size in pixels (ints or scalar tensors).
        strides: pixel stride of each level, e.g. ``(8, 16, 32, 64, 128)``.
        sizes: base anchor size in pixels of each level, e.g. ``(32, 64, 128, 256, 512)``.
        scales: size multipliers shared by all levels, e.g. ``(1, 2 ** (1 / 3), 2 ** (2 / 3))``.
        aspect_ratios: width / height ratios shared by all levels.
        offset: centre offset inside a cell, see ``grid_anchors``.

    Returns:
        float32 [A, 4] with ``A = sum_l grid_l * B``.
    """
    if len(strides) != len(sizes):
        raise ValueError(f"strides and sizes need one entry per level, got {strides} and {sizes}")
    static = isinstance(image_height, int) and isinstance(image_width, int)
    height = float(image_height) if static else tf.cast(image_height, tf.float32)
    width = float(image_width) if static else tf.cast(image_width, tf.float32)
    levels = []
    for stride, size in zip(strides, sizes, strict=True):
        # Python ints give static grid sizes, so the anchor count is known when tracing.
        if static:
            grid_h, grid_w = math.ceil(image_height / stride), math.ceil(image_width / stride)
        else:
            grid_h = tf.cast(tf.math.ceil(height / stride), tf.int32)
            grid_w = tf.cast(tf.math.ceil(width / stride), tf.int32)
        heights, widths = anchor_shapes(size, scales, aspect_ratios)
        levels.append(
            grid_anchors(
                grid_h,
                grid_w,
                stride / height,
                stride / width,
                tf.constant(heights) / height,
                tf.constant(widths) / width,
                offset,
            )
        )
    return tf.concat(levels, axis=0)


def ssd_scales(num_levels, min_scale=0.2, max_scale=0.9):
    """SSD's linearly spaced box scales, ``s_k = s_min + (s_max - s_min)(k - 1)/(m - 1)``."""
    if num_levels == 1:
        return [float(min_scale)]
    step = (max_scale - min_scale) / (num_levels - 1)
    return [float(min_scale + step * k) for k in range(num_levels)]


def ssd_default_boxes(feature_shapes, min_scale=0.2, max_scale=0.9, aspect_ratios=(1.0, 2.0, 0.5), clip=False):
    """SSD default boxes for feature maps of the given sizes, all levels concatenated.

    Level ``k`` has scale ``s_k`` (``ssd_scales``) and one box per aspect ratio
    ``r`` of size ``h = s_k / sqrt(r)``, ``w = s_k * sqrt(r)``, plus the extra
    square box of scale ``sqrt(s_k * s_{k+1})`` (with ``s_{m+1} = 1``) when the
    ratios contain 1. Centres are at ``((i + 0.5) / f_k, (j + 0.5) / f_k)``.
    Sizes are fractions of the image height and width.

    Args:
        feature_shapes: ``[(f_h, f_w), ...]`` grid size of each level.
        min_scale, max_scale: ``s_min`` and ``s_max``.
        aspect_ratios: one tuple of width / height ratios for all levels, or
            one tuple per level (SSD300 uses fewer ratios on some levels).
        clip: clip the boxes to the image.

    Returns:
        float32 [A, 4].
    """
    num_levels = len(feature_shapes)
    if aspect_ratios and not isinstance(aspect_ratios[0], (list, tuple)):
        aspect_ratios = [aspect_ratios] * num_levels
    if len(aspect_ratios) != num_levels:
        raise ValueError(f"need aspect ratios for {num_levels} levels, got {len(aspect_ratios)}")
    scales = ssd_scales(num_levels, min_scale, max_scale) + [1.0]
    levels = []
    for k, ((grid_h, grid_w), ratios) in enumerate(zip(feature_shapes, aspect_ratios, strict=True)):
        heights, widths = anchor_shapes(scales[k], [1.0], ratios)
        if any(math.isclose(r, 1.0) for r in ratios):
            extra = math.sqrt(scales[k] * scales[k + 1])
            heights.append(extra)
            widths.append(extra)
        levels.append(grid_anchors(grid_h, grid_w, 1.0 / grid_h, 1.0 / grid_w, heights, widths))
    anchors = tf.concat(levels, axis=0)
    return box_ops.clip_to_unit(anchors) if clip else anchors


def yolo_grid_cells(grid_height, grid_width, priors=None):
    """YOLO's grid: the cells themselves, or base boxes centred on each cell.

    Args:
        grid_height, grid_width: grid size (YOLO v1 uses 7 x 7).
        priors: ``None`` for the cells ``[i / S_h, j / S_w, (i + 1) / S_h, (j + 1) / S_w]``;
            or ``[(h, w), ...]`` normalized base-box sizes, B boxes per cell
            centred on the cell (YOLO v2 priors).

    Returns:
        float32 [grid_height * grid_width * B, 4] (B = 1 without priors).
    """
    if priors is None:
        priors = [(1.0 / grid_height, 1.0 / grid_width)]
    heights = [float(h) for h, _ in priors]
    widths = [float(w) for _, w in priors]
    return grid_anchors(grid_height, grid_width, 1.0 / grid_height, 1.0 / grid_width, heights, widths)


def sliding_windows(level_sizes, window, stride):
    """float32 [A, 4] windows of a crop classifier run convolutionally over images of ``level_sizes``.

    On an image resized to ``h x w`` (one level of an image pyramid), window
    ``(i, j)`` (row-major) covers pixels ``[i * stride, i * stride + window)``
    x ``[j * stride, j * stride + window)``: normalized,
    ``[i S / h, j S / w, (i S + W) / h, (j S + W) / w]``. There are
    ``(h - W) // S + 1`` rows and ``(w - W) // S + 1`` columns, the output
    size of unpadded convolutions of total stride S over W x W crops. Levels
    are concatenated in order.

    Args:
        level_sizes: ``[(h, w), ...]`` Python ints, each at least ``window``.
        window: W, the crop side in pixels.
        stride: S, the step between crops in pixels.

    Returns:
        float32 [A, 4].
    """
    levels = []
    for h, w in level_sizes:
        rows, cols = (h - window) // stride + 1, (w - window) // stride + 1
        # grid_anchors centres cell i at (i + offset) * stride; a window's centre is i S + W / 2.
        levels.append(
            grid_anchors(rows, cols, stride / h, stride / w, [window / h], [window / w], offset=window / (2 * stride))
        )
    return tf.concat(levels, axis=0)
