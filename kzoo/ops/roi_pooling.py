"""Fast R-CNN RoI max pooling with constant work per bin.

Each box is snapped to whole cells of the feature map and cut into a
``Ph x Pw`` grid of bins of (almost) equal integer size, and each bin keeps
its maximum, as in Fast R-CNN and torchvision's ``roi_pool``. Bins have data
dependent sizes, which a fixed-shape graph cannot loop over, so the maximum
of any rectangle is read from a two-dimensional sparse table: for every
``(2^a, 2^b)`` the table holds the maximum of the ``2^a x 2^b`` block starting
at each cell, and a rectangle of height ``h`` and width ``w`` is covered by
four (overlapping) blocks of size ``2^floor(log2 h) x 2^floor(log2 w)``. That
is four gathered cells per bin whatever the box size, plus tables costing
``log2(max bin height) * log2(max bin width)`` copies of the map, all with
TFLite builtin ops.

Coordinates: a normalized box covers the cells from ``round(ymin * H)`` up to
``max(round(ymax * H), round(ymin * H) + 1)`` (exclusive), clipped to the
map; rounding is half away from zero, as in the original. Bin ``i`` spans
cells ``[floor(i * h / Ph), ceil((i + 1) * h / Ph))`` of the ``h`` cells.
Bins with no cell inside the map (boxes outside the image) are zero.
"""

import tensorflow as tf

from kzoo.ops.roi_sampling import _dims, _pair


def _bins(start, stop, length, bins):
    """Integer bin edges along one axis: ``[B, bins]`` starts and sizes."""
    start = tf.clip_by_value(start, 0, length)
    stop = tf.clip_by_value(stop, 0, length)
    size = stop - start
    i = tf.range(bins)
    low = start[:, None] + (i[None, :] * size[:, None]) // bins
    high = start[:, None] + ((i[None, :] + 1) * size[:, None] + bins - 1) // bins
    return low, high - low


def _log2_floor(size, levels):
    """``floor(log2(size))`` for ``1 <= size < 2**levels``, by comparisons."""
    level = tf.zeros_like(size)
    for k in range(1, levels):
        level += tf.cast(size >= 2**k, size.dtype)
    return level


def _levels(length, bins):
    """Number of table levels needed for bins of at most ``ceil(length / bins) + 1`` cells."""
    longest = min(length, -(-length // bins) + 1)
    return max(longest.bit_length(), 1)


def _shift_max(table, step, axis):
    """``max(t[k], t[k + step])`` along ``axis``; the last ``step`` entries are never read."""
    if axis == 1:
        shifted = tf.concat([table[:, step:], table[:, -step:]], axis=1)
    else:
        shifted = tf.concat([table[:, :, step:], table[:, :, -step:]], axis=2)
    return tf.maximum(table, shifted)


def roi_pool(features, boxes, output_size):
    """Fast R-CNN RoI max pooling.

    Args:
        features: ``[N, H, W, C]`` float map with static ``H`` and ``W`` (they
            fix the sizes of the lookup tables).
        boxes: ``[N, R, 4]`` normalized ``[ymin, xmin, ymax, xmax]``.
        output_size: int or ``(Ph, Pw)``.

    Returns:
        ``[N, R, Ph, Pw, C]``: the maximum of every bin, 0 for empty bins.

    Raises:
        ValueError: if ``H`` or ``W`` is not static.
    """
    features = tf.convert_to_tensor(features)
    boxes = tf.cast(boxes, tf.float32)
    ph, pw = _pair(output_size, "output_size")
    n, h, w, c = _dims(features)
    if not (isinstance(h, int) and isinstance(w, int)):
        raise ValueError(f"roi_pool needs static spatial dimensions, got {features.shape}")
    r = _dims(boxes)[1]
    levels_y, levels_x = _levels(h, ph), _levels(w, pw)

    # Sparse tables: tables[a * levels_x + b] is the max over 2^a x 2^b blocks.
    tables = []
    column = features
    for a in range(levels_y):
        if a:
            column = _shift_max(column, 2 ** (a - 1), axis=1)
        row = column
        for b in range(levels_x):
            if b:
                row = _shift_max(row, 2 ** (b - 1), axis=2)
            tables.append(row)
    flat = tf.reshape(tf.concat(tables, axis=0), [-1, c])

    # Half away from zero, like the original C++ round(); tf.round is half to even.
    def snap(v, length):
        return tf.cast(tf.sign(v) * tf.floor(tf.abs(v) * length + 0.5), tf.int32)

    ymin, xmin, ymax, xmax = tf.unstack(tf.reshape(boxes, [-1, 4]), 4, axis=-1)
    y0, x0 = snap(ymin, h), snap(xmin, w)
    y1 = tf.maximum(snap(ymax, h), y0 + 1)
    x1 = tf.maximum(snap(xmax, w), x0 + 1)
    top, height = _bins(y0, y1, h, ph)
    left, width = _bins(x0, x1, w, pw)

    a = _log2_floor(tf.maximum(height, 1), levels_y)
    b = _log2_floor(tf.maximum(width, 1), levels_x)
    # The two blocks per axis: one at the bin start, one ending at the bin end.
    ys = tf.stack([top, top + tf.maximum(height, 1) - 2**a], axis=-1)  # [B, Ph, 2]
    xs = tf.stack([left, left + tf.maximum(width, 1) - 2**b], axis=-1)  # [B, Pw, 2]
    ys = tf.clip_by_value(ys, 0, h - 1)
    xs = tf.clip_by_value(xs, 0, w - 1)

    image = tf.reshape(tf.tile(tf.range(n)[:, None], [1, r]), [-1, 1, 1])
    cell_y = (a[..., None] * levels_x * n + image) * h + ys  # [B, Ph, 2] (level a, row)
    cell_x = b[..., None] * n * h * w + xs  # [B, Pw, 2] (level b, column)
    # Table index ((a * Lx + b) * N + n) * H * W + y * W + x, as an outer sum.
    cells = tf.reshape(cell_y * w, [-1, ph * 2, 1]) + tf.reshape(cell_x, [-1, 1, pw * 2])
    cells = tf.transpose(tf.reshape(cells, [-1, 2, pw, 2]), [0, 2, 1, 3])
    taps = tf.gather(flat, tf.reshape(cells, [-1, 4]))
    pooled = tf.reduce_max(taps, axis=1)

    empty = (tf.reshape(height, [-1, ph, 1]) <= 0) | (tf.reshape(width, [-1, 1, pw]) <= 0)
    pooled = tf.where(tf.reshape(empty, [-1, 1]), tf.zeros_like(pooled), pooled)
    return tf.reshape(pooled, [n, r, ph, pw, c])
