"""Pooling with switches and in-network upsampling ("unpooling").

The lecture's three ways of growing a feature map without learned weights:

- nearest-neighbour unpooling: every value copied into its whole cell;
- "bed of nails": every value at the top-left of its cell, zeros elsewhere;
- max unpooling: every value put back where the matching max pooling found
  its maximum (the "switches" of DeconvNet and SegNet).

Every function takes channels-last ``[N, H, W, C]`` tensors and uses only
max pooling, reshape, transpose, tile, pad, slices, reductions and
element-wise ops, all of which are TFLite builtins
(``tf.nn.max_pool_with_argmax`` and scatter-based unpooling are not). No intermediate tensor has more than four dimensions, which keeps
every op inside the ranks TFLite kernels accept.
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
    """Static dimensions where known, dynamic scalars otherwise."""
    static = x.shape.as_list()
    dynamic = tf.shape(x)
    return [s if s is not None else dynamic[i] for i, s in enumerate(static)]


def _spread(x, size, fill_zeros):
    """Grow each pixel into a ``size`` cell: copies, or the pixel then zeros."""
    n, h, w, c = _dims(x)
    sh, sw = size

    def grow(t, factor):
        if fill_zeros:
            return tf.pad(t, [[0, 0], [0, 0], [0, factor - 1], [0, 0]])
        return tf.tile(t, [1, 1, factor, 1])

    # Width first: each pixel's channels become `sw` consecutive pixels.
    t = tf.reshape(x, [-1, w, 1, c])
    t = grow(t, sw)
    # Then height: each row becomes `sh` consecutive rows.
    t = tf.reshape(t, [n, h, 1, w * sw * c])
    t = grow(t, sh)
    return tf.reshape(t, [n, h * sh, w * sw, c])


def nearest_unpooling(x, size=2):
    """Nearest-neighbour unpooling: each value fills its ``size`` cell.

    Args:
        x: ``[N, H, W, C]`` tensor, any dtype.
        size: int or ``(sh, sw)`` upsampling factor.

    Returns:
        ``[N, H * sh, W * sw, C]`` with ``out[y, x] = x[y // sh, x // sw]``.
    """
    x = tf.convert_to_tensor(x)
    return _spread(x, _pair(size, "size"), fill_zeros=False)


def bed_of_nails_unpooling(x, size=2):
    """"Bed of nails" unpooling: each value at the top-left of its cell, zeros elsewhere.

    Args:
        x: ``[N, H, W, C]`` tensor, any dtype.
        size: int or ``(sh, sw)`` upsampling factor.

    Returns:
        ``[N, H * sh, W * sw, C]`` with ``out[y * sh, x * sw] = x[y, x]`` and
        zeros at every other position.
    """
    x = tf.convert_to_tensor(x)
    return _spread(x, _pair(size, "size"), fill_zeros=True)


def max_pool_with_argmax(x, pool_size=2):
    """Non-overlapping max pooling that also returns where each max came from.

    Windows are ``pool_size`` with stride ``pool_size`` and "valid" padding
    (trailing rows and columns that do not fill a window are dropped), as
    ``tf.nn.max_pool_with_argmax(x, pool_size, pool_size, "VALID")`` does.

    Args:
        x: ``[N, H, W, C]`` float tensor.
        pool_size: int or ``(ph, pw)``.

    Returns:
        ``(pooled, argmax)``: ``pooled`` is ``[N, H // ph, W // pw, C]``;
        ``argmax`` is int32 of the same shape holding, for each output, the
        flat index ``(y * W + x) * C + c`` of its maximum inside its own image
        (TF's ``include_batch_in_index=False`` convention). Indices never
        encode the batch position, so they stay valid whatever the batch size
        or order. Ties go to the first maximum in row-major window order.
        The gradient reaches ``x`` through ``pooled`` as through
        ``tf.nn.max_pool2d``; ``argmax`` has none.
    """
    x = tf.convert_to_tensor(x)
    ph, pw = _pair(pool_size, "pool_size")
    n, h, w, c = _dims(x)
    out_h, out_w = h // ph, w // pw
    # The values and their gradient come from TF's own max pooling, which is
    # much faster to train through than a select over shifted sub-grids.
    pooled = tf.nn.max_pool2d(x, (ph, pw), (ph, pw), "VALID")

    # The switches carry no gradient. Gather every window's ph * pw elements
    # on one axis, [windows, ph * pw, C], with rank-4 reshapes and a transpose
    # (TFLite kernels take at most rank 4 here); the window position of the
    # maximum is the first one equal to the pooled value, so ties go to the
    # first maximum in row-major window order, as in TF's kernel.
    values = tf.stop_gradient(x)[:, : out_h * ph, : out_w * pw, :]
    windows = tf.reshape(values, [n * out_h, ph, out_w, pw * c])
    windows = tf.transpose(windows, [0, 2, 1, 3])
    windows = tf.reshape(windows, [n * out_h * out_w, ph * pw, c])
    maxima = tf.reshape(tf.stop_gradient(pooled), [n * out_h * out_w, 1, c])
    window_position = tf.reshape(tf.range(ph * pw), [1, ph * pw, 1])
    first = tf.reduce_min(tf.where(tf.equal(windows, maxima), window_position, ph * pw), axis=1)
    # A NaN equals nothing: its index still stays inside its own window.
    first = tf.minimum(first, ph * pw - 1)
    dy = first // pw
    offset = tf.reshape((dy * w + (first - dy * pw)) * c, [n, out_h, out_w, c])

    # Flat index of each window's top-left element; the offset within the window goes on top.
    rows = tf.range(out_h) * ph
    cols = tf.range(out_w) * pw
    base = (rows[:, None, None] * w + cols[None, :, None]) * c + tf.range(c)[None, None, :]
    return pooled, base[None] + offset


def max_unpooling(pooled, argmax, size=2, output_size=None):
    """Max unpooling: put each pooled value back where its maximum was.

    The inverse placement of :func:`max_pool_with_argmax`. Because pooling
    windows do not overlap, each output position can only receive the value
    of the window covering it, so unpooling is a nearest-neighbour copy kept
    only where the copied index equals the position's own flat index: no
    scatter, and the gradient reaches exactly the kept values.

    Args:
        pooled: ``[N, h, w, C]`` values.
        argmax: ``[N, h, w, C]`` integer per-image flat indices
            ``(y * W + x) * C + c`` into the ``[H, W, C]`` output, as
            returned by :func:`max_pool_with_argmax` (or by
            ``tf.nn.max_pool_with_argmax`` with ``include_batch_in_index=False``
            and stride equal to the window).
        size: int or ``(sh, sw)``, the pooling window.
        output_size: ``(H, W)`` of the output; defaults to ``(h * sh, w * sw)``.
            Pass the pooled input's size when it was not a multiple of the
            window (the dropped rows and columns come back as zeros), since
            the indices were computed with that width.

    Returns:
        ``[N, H, W, C]`` with the pooled values at their argmax positions and
        zeros elsewhere.
    """
    pooled = tf.convert_to_tensor(pooled)
    argmax = tf.cast(argmax, tf.int32)
    sh, sw = _pair(size, "size")
    values = nearest_unpooling(pooled, (sh, sw))
    indices = nearest_unpooling(argmax, (sh, sw))
    n, h, w, c = _dims(values)
    if output_size is not None:
        out_h, out_w = _pair(output_size, "output_size")
        values = values[:, :out_h, :out_w, :]
        indices = indices[:, :out_h, :out_w, :]
        pad = [[0, 0], [0, tf.maximum(out_h - h, 0)], [0, tf.maximum(out_w - w, 0)], [0, 0]]
        values = tf.pad(values, pad)
        # -1 never equals a position's index, so padded positions stay zero.
        indices = tf.pad(indices, pad, constant_values=-1)
        h, w = out_h, out_w
    position = (tf.range(h)[:, None, None] * w + tf.range(w)[None, :, None]) * c + tf.range(c)[None, None, :]
    keep = tf.equal(indices, position[None])
    return tf.where(keep, values, tf.zeros_like(values))
