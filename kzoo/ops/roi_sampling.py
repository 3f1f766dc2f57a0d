"""RoIAlign, position-sensitive RoIAlign and multi-level RoIAlign by gathers.

Boxes are kzoo boxes, ``[N, R, 4]`` float32 ``[ymin, xmin, ymax, xmax]``
normalized to the image, so a feature map of size ``H x W`` is its own pixel
scale: normalized ``y`` is the continuous coordinate ``y * H`` on that map,
where cell ``i`` spans ``[i, i + 1)`` and has its center at ``i + 0.5``. This
is exact when the image size is a multiple of the map's stride.

Sampling follows Mask R-CNN's RoIAlign as Detectron2 and torchvision write
it. Each of the ``Ph x Pw`` bins of a box averages ``s x s`` bilinear
samples placed at the centers of an even ``s x s`` grid inside the bin
(``s`` is ``sampling_ratio``). With ``aligned=True`` the box is shifted by
half a cell so that sample coordinates are measured from cell centers, which
is what bilinear interpolation needs (the "half-pixel" correction of
Detectron2); ``aligned=False`` is the original, half-cell-shifted version,
which also makes every box at least one cell wide. A sample more than one
cell outside the map contributes zero; one within a cell of the border reads
the border value.

Everything is one ``tf.gather`` of ``4 s^2`` cells per bin from the flattened
map plus one batched matrix product with the bilinear weights: TFLite
builtins only, no per-box loops, and the same work for any number of levels.
"""

import tensorflow as tf


def _pair(value, name):
    if isinstance(value, int):
        value = (value, value)
    value = tuple(int(v) for v in value)
    if len(value) != 2 or min(value) < 1:
        raise ValueError(f"{name} must be a positive int or a pair of positive ints, got {value!r}")
    return value


def _dims(x):
    static = x.shape.as_list()
    dynamic = tf.shape(x)
    return [s if s is not None else dynamic[i] for i, s in enumerate(static)]


def _taps(start, extent, bins, sampling_ratio, length):
    """Bilinear taps of every sample along one axis.

    Args:
        start, extent: ``[B]`` box start (in cell-center coordinates) and size.
        bins, sampling_ratio: bins per box and samples per bin along the axis.
        length: ``[B]`` float map size along the axis (per box for pyramids).

    Returns:
        ``(index, weight)``, each ``[B, bins, 2 * sampling_ratio]``: for every
        bin, the lower and upper cell of each sample and their weights.
    """
    steps = bins * sampling_ratio
    fractions = (tf.range(steps, dtype=tf.float32) + 0.5) / steps
    pos = start[:, None] + extent[:, None] * fractions[None, :]
    length = length[:, None]
    inside = tf.cast((pos >= -1.0) & (pos <= length), tf.float32)
    pos = tf.clip_by_value(pos, 0.0, length - 1.0)
    low = tf.floor(pos)
    frac = pos - low
    # Indices are computed in int32. As floats they would be quantized in an int8 TFLite file (17 becomes
    # 16.96 at a scale of 31 / 255) and the cast to int32 would truncate them to the cell before.
    low_index = tf.cast(low, tf.int32)
    high_index = tf.minimum(low_index + 1, tf.cast(tf.round(length), tf.int32) - 1)
    index = tf.stack([low_index, high_index], axis=-1)
    weight = tf.stack([1.0 - frac, frac], axis=-1) * inside[..., None]
    shape = [-1, bins, 2 * sampling_ratio]
    return tf.reshape(index, shape), tf.reshape(weight, shape)


def _sample_bins(flat, base, height, width, boxes, output_size, sampling_ratio, aligned, groups=1):
    """Average of bilinear samples in every bin of every box, from a flat map.

    Args:
        flat: ``[M * groups, C]`` flattened feature cells.
        base: ``[B]`` int32 index of each box's map origin in ``flat`` (in cells).
        height, width: ``[B]`` int32 size of each box's map.
        boxes: ``[B, 4]`` normalized boxes.
        groups: bins read from their own channel group (position-sensitive
            pooling) when > 1; cell ``p`` of bin ``g`` is row ``p * groups + g``.

    Returns:
        ``[B, Ph * Pw, C]``.
    """
    ph, pw = output_size
    s = sampling_ratio
    h = tf.cast(height, tf.float32)
    w = tf.cast(width, tf.float32)
    ymin, xmin, ymax, xmax = tf.unstack(boxes, 4, axis=-1)
    shift = 0.5 if aligned else 0.0
    box_h = (ymax - ymin) * h
    box_w = (xmax - xmin) * w
    if not aligned:
        box_h = tf.maximum(box_h, 1.0)
        box_w = tf.maximum(box_w, 1.0)
    iy, wy = _taps(ymin * h - shift, box_h, ph, s, h)
    ix, wx = _taps(xmin * w - shift, box_w, pw, s, w)

    # Outer product of the row and column taps, arranged [box * bin, tap]:
    # every intermediate stays rank <= 4.
    rows = tf.reshape(iy * width[:, None, None] + base[:, None, None], [-1, ph * 2 * s, 1])
    cells = rows + tf.reshape(ix, [-1, 1, pw * 2 * s])
    weights = tf.reshape(wy, [-1, ph * 2 * s, 1]) * tf.reshape(wx, [-1, 1, pw * 2 * s])

    def by_bin(t):
        t = tf.reshape(t, [-1, 2 * s, pw, 2 * s])
        t = tf.transpose(t, [0, 2, 1, 3])
        return tf.reshape(t, [-1, ph * pw, 4 * s * s])

    cells = by_bin(cells)
    weights = by_bin(weights) / float(s * s)
    if groups > 1:
        cells = cells * groups + tf.range(ph * pw)[None, :, None]
    taps = tf.gather(flat, tf.reshape(cells, [-1, 4 * s * s]))
    # A [1, K] x [K, C] product per bin sums the taps in one pass over them, and
    # under XLA the weight table is computed once, not once per channel as an
    # element-wise multiply-and-sum fusion would (10x slower at 2x2 sampling).
    weights = tf.cast(tf.reshape(weights, [-1, 1, 4 * s * s]), flat.dtype)
    pooled = tf.matmul(weights, taps)
    return tf.reshape(pooled, [-1, ph * pw, flat.shape[-1] or tf.shape(flat)[-1]])


def _batch_base(n, r, cells_per_image):
    """Flat index of each box's image origin: ``[N * R]``."""
    return tf.reshape(tf.tile(tf.range(n)[:, None] * cells_per_image, [1, r]), [-1])


def _check_sampling(sampling_ratio):
    if int(sampling_ratio) < 1:
        raise ValueError(
            "sampling_ratio must be >= 1 (the adaptive ratio 0 of Detectron needs per-box shapes), "
            f"got {sampling_ratio}"
        )
    return int(sampling_ratio)


def roi_align(features, boxes, output_size, sampling_ratio=2, aligned=True):
    """RoIAlign: a fixed ``Ph x Pw`` grid of bilinear averages for every box.

    Args:
        features: ``[N, H, W, C]`` float feature map.
        boxes: ``[N, R, 4]`` normalized ``[ymin, xmin, ymax, xmax]``.
        output_size: int or ``(Ph, Pw)``.
        sampling_ratio: samples per bin along each axis, >= 1.
        aligned: half-cell alignment (Detectron2's ``aligned=True``).

    Returns:
        ``[N, R, Ph, Pw, C]``.
    """
    features = tf.convert_to_tensor(features)
    boxes = tf.cast(boxes, tf.float32)
    ph, pw = _pair(output_size, "output_size")
    s = _check_sampling(sampling_ratio)
    n, h, w, c = _dims(features)
    r = _dims(boxes)[1]
    flat = tf.reshape(features, [-1, c])
    ones = tf.ones([n * r], tf.int32)
    out = _sample_bins(
        flat, _batch_base(n, r, h * w), ones * h, ones * w,
        tf.reshape(boxes, [-1, 4]), (ph, pw), s, aligned,
    )
    return tf.reshape(out, [n, r, ph, pw, c])


def ps_roi_align(features, boxes, output_size, sampling_ratio=2, aligned=True):
    """Position-sensitive RoIAlign (R-FCN): bin ``(i, j)`` reads its own channels.

    The map has ``Ph * Pw * D`` channels laid out position-major: channels
    ``[(i * Pw + j) * D, (i * Pw + j + 1) * D)`` are the ``D`` score maps of
    bin ``(i, j)`` (``D = C + 1`` class scores in R-FCN, or 4 box deltas).
    torchvision orders them class-major instead.

    Args:
        features: ``[N, H, W, Ph * Pw * D]`` float score maps.
        boxes: ``[N, R, 4]`` normalized boxes.
        output_size: int or ``(Ph, Pw)``, R-FCN's ``k x k``.
        sampling_ratio, aligned: as in :func:`roi_align`.

    Returns:
        ``[N, R, Ph, Pw, D]``.

    Raises:
        ValueError: if the channel count is not a multiple of ``Ph * Pw``.
    """
    features = tf.convert_to_tensor(features)
    boxes = tf.cast(boxes, tf.float32)
    ph, pw = _pair(output_size, "output_size")
    s = _check_sampling(sampling_ratio)
    n, h, w, c = _dims(features)
    if not isinstance(c, int) or c % (ph * pw):
        raise ValueError(f"ps_roi_align needs a static channel count divisible by {ph * pw}, got {c}")
    depth = c // (ph * pw)
    r = _dims(boxes)[1]
    flat = tf.reshape(features, [-1, depth])
    ones = tf.ones([n * r], tf.int32)
    out = _sample_bins(
        flat, _batch_base(n, r, h * w), ones * h, ones * w,
        tf.reshape(boxes, [-1, 4]), (ph, pw), s, aligned, groups=ph * pw,
    )
    return tf.reshape(out, [n, r, ph, pw, depth])


def position_sensitive_vote(pooled):
    """R-FCN's vote: average the ``k x k`` position-sensitive scores. ``[N, R, k, k, D] -> [N, R, D]``."""
    return tf.reduce_mean(pooled, axis=[2, 3])


def fpn_level(boxes, image_size, min_level=2, max_level=5, canonical_size=224.0, canonical_level=4):
    """FPN's level for each box: ``floor(k0 + log2(sqrt(w h) / 224))``, clamped.

    Args:
        boxes: ``[..., 4]`` normalized boxes.
        image_size: ``(height, width)`` of the image in pixels (ints or scalars).
        min_level, max_level: the pyramid's levels (``P{k}`` has stride ``2**k``).
        canonical_size, canonical_level: ``224`` and ``k0 = 4``, the ImageNet
            box size mapped to ``P4``.

    Returns:
        int32 ``[...]`` levels in ``[min_level, max_level]``. Zero-area boxes go
        to ``min_level`` (a tiny constant inside the log keeps them finite, as
        in Detectron).
    """
    boxes = tf.cast(boxes, tf.float32)
    ymin, xmin, ymax, xmax = tf.unstack(boxes, 4, axis=-1)
    height = tf.cast(image_size[0], tf.float32)
    width = tf.cast(image_size[1], tf.float32)
    size = tf.sqrt(tf.maximum(ymax - ymin, 0.0) * height * tf.maximum(xmax - xmin, 0.0) * width)
    level = tf.floor(canonical_level + tf.math.log(size / canonical_size + 1e-6) / tf.math.log(2.0))
    # Cast before clipping: an int8 TFLite file would otherwise quantize the clipped float level.
    return tf.clip_by_value(tf.cast(level, tf.int32), min_level, max_level)


def multi_level_roi_align(features, boxes, levels, output_size, sampling_ratio=2, aligned=True):
    """RoIAlign of each box on its own pyramid level, in one gather.

    Args:
        features: list of ``[N, H_l, W_l, C]`` maps, finest first.
        boxes: ``[N, R, 4]`` normalized boxes.
        levels: int ``[N, R]`` position of each box's map in ``features``
            (``fpn_level(...) - min_level``); clipped to the list.
        output_size, sampling_ratio, aligned: as in :func:`roi_align`.

    Returns:
        ``[N, R, Ph, Pw, C]``.
    """
    features = [tf.convert_to_tensor(f) for f in features]
    boxes = tf.cast(boxes, tf.float32)
    ph, pw = _pair(output_size, "output_size")
    s = _check_sampling(sampling_ratio)
    n, _, _, c = _dims(features[0])
    r = _dims(boxes)[1]
    heights = tf.stack([_dims(f)[1] for f in features])
    widths = tf.stack([_dims(f)[2] for f in features])
    sizes = heights * widths
    # Where each level's cells start in the concatenated pyramid.
    starts = tf.concat([[0], tf.cumsum(sizes * n)[:-1]], axis=0)
    flat = tf.concat([tf.reshape(f, [-1, c]) for f in features], axis=0)
    level = tf.clip_by_value(tf.reshape(tf.cast(levels, tf.int32), [-1]), 0, len(features) - 1)
    base = tf.gather(starts, level) + _batch_base(n, r, 1) * tf.gather(sizes, level)
    out = _sample_bins(
        flat, base, tf.gather(heights, level), tf.gather(widths, level),
        tf.reshape(boxes, [-1, 4]), (ph, pw), s, aligned,
    )
    return tf.reshape(out, [n, r, ph, pw, c])
