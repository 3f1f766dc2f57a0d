"""RoIAlign, PS-RoIAlign, multi-level RoIAlign and RoI pooling against NumPy references and TF."""

import numpy as np
import pytest
import tensorflow as tf

from kzoo.ops import roi_pooling, roi_sampling

# ---------------------------------------------------------------- references


def np_bilinear(fm, y, x):
    """Detectron2 / torchvision bilinear read in cell-center coordinates."""
    h, w, c = fm.shape
    if y < -1 or y > h or x < -1 or x > w:
        return np.zeros(c)
    y, x = min(max(y, 0.0), h - 1.0), min(max(x, 0.0), w - 1.0)
    y0, x0 = int(np.floor(y)), int(np.floor(x))
    y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
    ly, lx = y - y0, x - x0
    return (
        (1 - ly) * (1 - lx) * fm[y0, x0] + (1 - ly) * lx * fm[y0, x1]
        + ly * (1 - lx) * fm[y1, x0] + ly * lx * fm[y1, x1]
    )


def np_roi_align_box(fm, box, ph, pw, s, aligned):
    h, w, c = fm.shape
    y1, x1, y2, x2 = np.asarray(box, np.float64)
    shift = 0.5 if aligned else 0.0
    start_y, start_x = y1 * h - shift, x1 * w - shift
    size_y, size_x = (y2 - y1) * h, (x2 - x1) * w
    if not aligned:
        size_y, size_x = max(size_y, 1.0), max(size_x, 1.0)
    out = np.zeros((ph, pw, c))
    for i in range(ph):
        for j in range(pw):
            for a in range(s):
                for b in range(s):
                    yy = start_y + (i + (a + 0.5) / s) * size_y / ph
                    xx = start_x + (j + (b + 0.5) / s) * size_x / pw
                    out[i, j] += np_bilinear(fm, yy, xx) / (s * s)
    return out


def np_roi_align(f, boxes, ph, pw, s=2, aligned=True):
    n, r = boxes.shape[:2]
    return np.stack([[np_roi_align_box(f[b], boxes[b, k], ph, pw, s, aligned) for k in range(r)] for b in range(n)])


def np_ps_roi_align(f, boxes, k, s=2):
    depth = f.shape[-1] // (k * k)
    out = np.zeros(boxes.shape[:2] + (k, k, depth))
    for i in range(k):
        for j in range(k):
            g = i * k + j
            out[:, :, i, j] = np_roi_align(f[..., g * depth : (g + 1) * depth], boxes, k, k, s)[:, :, i, j]
    return out


def np_round(v):
    return int(np.sign(v) * np.floor(abs(v) + 0.5))


def np_roi_pool(f, boxes, p):
    n, h, w, c = f.shape
    out = np.zeros(boxes.shape[:2] + (p, p, c), np.float32)
    for b in range(n):
        for k in range(boxes.shape[1]):
            y1, x1, y2, x2 = boxes[b, k].astype(np.float64)
            ys, xs = np_round(y1 * h), np_round(x1 * w)
            ye, xe = max(np_round(y2 * h), ys + 1), max(np_round(x2 * w), xs + 1)
            ys, ye = np.clip([ys, ye], 0, h)
            xs, xe = np.clip([xs, xe], 0, w)
            for i in range(p):
                for j in range(p):
                    top, bottom = ys + (i * (ye - ys)) // p, ys + -(-((i + 1) * (ye - ys)) // p)
                    left, right = xs + (j * (xe - xs)) // p, xs + -(-((j + 1) * (xe - xs)) // p)
                    if bottom > top and right > left:
                        out[b, k, i, j] = f[b, top:bottom, left:right].max(axis=(0, 1))
    return out


def random_boxes(rng, shape, low=0.0, high=1.0, min_size=0.02):
    corner = rng.uniform(low, high - min_size, size=shape + (2,))
    size = rng.uniform(min_size, 1.0, size=shape + (2,)) * (high - corner)
    return np.concatenate([corner, corner + size], axis=-1).astype(np.float32)


def crop_and_resize_boxes(boxes, h, w, grid):
    """The boxes for which crop_and_resize's corner-aligned grid hits RoIAlign's samples.

    RoIAlign's k-th sample along y is ``y1 * H - 0.5 + (k + 0.5) * (y2 - y1) * H / G``
    in cell-index space; crop_and_resize's is ``y1' (H - 1) + k (y2' - y1') (H - 1) / (G - 1)``.
    """
    y1, x1, y2, x2 = np.moveaxis(boxes.astype(np.float64), -1, 0)

    def axis(lo, hi, n):
        step = (hi - lo) * n / grid
        first = lo * n - 0.5 + 0.5 * step
        return first / (n - 1), (first + (grid - 1) * step) / (n - 1)

    ny1, ny2 = axis(y1, y2, h)
    nx1, nx2 = axis(x1, x2, w)
    return np.stack([ny1, nx1, ny2, nx2], axis=-1).astype(np.float32)


# ---------------------------------------------------------------- RoIAlign


@pytest.mark.parametrize("aligned", [True, False])
@pytest.mark.parametrize("sampling_ratio,output_size", [(1, (3, 3)), (2, (2, 4)), (3, (3, 2))])
def test_roi_align_matches_numpy(aligned, sampling_ratio, output_size):
    rng = np.random.default_rng(0)
    f = rng.normal(size=(2, 9, 11, 3)).astype(np.float32)
    boxes = random_boxes(rng, (2, 5), -0.2, 1.2)
    got = roi_sampling.roi_align(f, boxes, output_size, sampling_ratio, aligned).numpy()
    want = np_roi_align(f, boxes, *output_size, sampling_ratio, aligned)
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("sampling_ratio", [1, 2])
def test_roi_align_matches_crop_and_resize(sampling_ratio):
    rng = np.random.default_rng(1)
    n, h, w, r, p = 2, 12, 10, 6, 4
    f = rng.normal(size=(n, h, w, 5)).astype(np.float32)
    # Boxes well inside, so no sample reaches the border where the two differ.
    boxes = random_boxes(rng, (n, r), 0.1, 0.9)
    grid = p * sampling_ratio
    cr_boxes = crop_and_resize_boxes(boxes, h, w, grid).reshape(-1, 4)
    crops = tf.image.crop_and_resize(f, cr_boxes, np.repeat(np.arange(n), r), (grid, grid))
    expected = tf.nn.avg_pool2d(crops, sampling_ratio, sampling_ratio, "VALID").numpy()
    got = roi_sampling.roi_align(f, boxes, p, sampling_ratio).numpy()
    np.testing.assert_allclose(got.reshape(expected.shape), expected, atol=1e-5)


def test_roi_align_hand_computed():
    # f(y, x) = 10 y + x at cell centers; bilinear sampling reproduces it exactly.
    ys, xs = np.meshgrid(np.arange(4.0), np.arange(4.0), indexing="ij")
    f = (10 * ys + xs).astype(np.float32)[None, :, :, None]
    # Box covering cells 1..2 in both axes: normalized [0.25, 0.75]. With aligned
    # sampling its 2x2 bins are centered at cell-index coordinates 1.0 and 2.0.
    boxes = np.array([[[0.25, 0.25, 0.75, 0.75]]], np.float32)
    got = roi_sampling.roi_align(f, boxes, 2, 2).numpy()[0, 0, :, :, 0]
    np.testing.assert_allclose(got, [[11.0, 12.0], [21.0, 22.0]], atol=1e-5)
    # Without alignment the same box reads half a cell further: centers 1.5 and 2.5.
    got = roi_sampling.roi_align(f, boxes, 2, 2, aligned=False).numpy()[0, 0, :, :, 0]
    np.testing.assert_allclose(got, [[16.5, 17.5], [26.5, 27.5]], atol=1e-5)


def test_roi_align_edge_cases_are_finite_and_defined():
    f = np.random.default_rng(2).normal(size=(1, 8, 8, 4)).astype(np.float32)
    boxes = np.array(
        [
            [
                [0.5, 0.5, 0.5, 0.5],  # zero area: every sample at one point
                [1.5, 1.5, 2.0, 2.0],  # far outside the image
                [-0.3, -0.3, 0.4, 0.4],  # partly outside
                [0.6, 0.6, 0.2, 0.2],  # inverted
            ]
        ],
        np.float32,
    )
    got = roi_sampling.roi_align(f, boxes, 3, 2).numpy()
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, np_roi_align(f, boxes, 3, 3, 2), atol=1e-5)
    np.testing.assert_allclose(got[0, 0], np.broadcast_to(np_bilinear(f[0], 3.5, 3.5), (3, 3, 4)), atol=1e-5)
    np.testing.assert_array_equal(got[0, 1], 0.0)


def test_roi_align_gradients():
    rng = np.random.default_rng(3)
    f = tf.constant(rng.normal(size=(2, 10, 12, 3)).astype(np.float32))
    boxes = tf.constant(random_boxes(rng, (2, 4), 0.05, 0.95))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([f, boxes])
        total = tf.reduce_sum(roi_sampling.roi_align(f, boxes, 3, 2))
        crops = tf.image.crop_and_resize(
            f, crop_and_resize_boxes(boxes.numpy(), 10, 12, 6).reshape(-1, 4), np.repeat([0, 1], 4), (6, 6)
        )
        reference = tf.reduce_sum(tf.nn.avg_pool2d(crops, 2, 2, "VALID"))
    grad_f, grad_boxes = tape.gradient(total, [f, boxes])
    assert np.isfinite(grad_f.numpy()).all() and np.isfinite(grad_boxes.numpy()).all()
    # Inside the map the bilinear weights of each bin sum to one.
    np.testing.assert_allclose(grad_f.numpy().sum(), 2 * 4 * 3 * 3 * 3, rtol=1e-5)
    np.testing.assert_allclose(grad_f.numpy(), tape.gradient(reference, f).numpy(), atol=1e-5)


def test_roi_align_unknown_shapes_in_graph():
    fn = tf.function(
        lambda f, b: roi_sampling.roi_align(f, b, 2, 1),
        input_signature=[tf.TensorSpec([None, None, None, 2]), tf.TensorSpec([None, None, 4])],
    )
    rng = np.random.default_rng(4)
    f = rng.normal(size=(2, 5, 6, 2)).astype(np.float32)
    boxes = random_boxes(rng, (2, 3))
    np.testing.assert_allclose(fn(f, boxes).numpy(), np_roi_align(f, boxes, 2, 2, 1), atol=1e-5)


def test_roi_align_rejects_adaptive_sampling():
    with pytest.raises(ValueError):
        roi_sampling.roi_align(np.zeros((1, 4, 4, 1), np.float32), np.zeros((1, 1, 4), np.float32), 2, 0)


# ---------------------------------------------------------------- PS-RoIAlign


def test_ps_roi_align_matches_numpy():
    rng = np.random.default_rng(5)
    f = rng.normal(size=(2, 8, 10, 3 * 3 * 4)).astype(np.float32)
    boxes = random_boxes(rng, (2, 5), -0.2, 1.2)
    got = roi_sampling.ps_roi_align(f, boxes, 3, 2).numpy()
    np.testing.assert_allclose(got, np_ps_roi_align(f, boxes, 3, 2), atol=1e-5)
    np.testing.assert_allclose(roi_sampling.position_sensitive_vote(got).numpy(), got.mean(axis=(2, 3)), atol=1e-6)


def test_ps_roi_align_reads_only_its_group():
    # Group g of the map is the constant g: bin (i, j) of any box inside reads i * k + j.
    k = 3
    f = np.repeat(np.arange(k * k, dtype=np.float32), 2)[None, None, None, :] * np.ones((1, 6, 6, 1), np.float32)
    got = roi_sampling.ps_roi_align(f, np.array([[[0.1, 0.2, 0.8, 0.9]]], np.float32), k, 2).numpy()
    np.testing.assert_allclose(got[0, 0, :, :, 0], np.arange(k * k).reshape(k, k), atol=1e-6)


def test_ps_roi_align_rejects_bad_channels():
    with pytest.raises(ValueError):
        roi_sampling.ps_roi_align(np.zeros((1, 4, 4, 10), np.float32), np.zeros((1, 1, 4), np.float32), 3)


# ---------------------------------------------------------------- FPN levels


def test_fpn_level_hand_computed():
    s = 800.0
    boxes = np.array(
        [[0, 0, 224 / s, 224 / s], [0, 0, 448 / s, 448 / s], [0, 0, 447 / s, 448 / s],
         [0, 0, 112 / s, 112 / s], [0.3, 0.3, 0.3, 0.3], [0, 0, 1, 1], [0, 0, 10 / s, 10 / s]],
        np.float32,
    )
    levels = roi_sampling.fpn_level(boxes, (800, 800)).numpy()
    np.testing.assert_array_equal(levels, [4, 5, 4, 3, 2, 5, 2])


def test_fpn_level_matches_formula():
    rng = np.random.default_rng(6)
    boxes = random_boxes(rng, (50,), min_size=0.001)
    got = roi_sampling.fpn_level(boxes, (640, 480), 2, 6).numpy()
    size = np.sqrt((boxes[:, 2] - boxes[:, 0]) * 640 * (boxes[:, 3] - boxes[:, 1]) * 480)
    np.testing.assert_array_equal(got, np.clip(np.floor(4 + np.log2(size / 224 + 1e-6)), 2, 6))


def test_multi_level_roi_align_matches_per_level_numpy():
    rng = np.random.default_rng(7)
    features = [rng.normal(size=(2, 32 // 2**k, 24 // 2**k, 3)).astype(np.float32) for k in range(3)]
    boxes = random_boxes(rng, (2, 6), -0.1, 1.1)
    levels = rng.integers(0, 3, size=(2, 6))
    got = roi_sampling.multi_level_roi_align(features, boxes, levels, 2, 2).numpy()
    for b in range(2):
        for k in range(6):
            want = np_roi_align(features[levels[b, k]][b : b + 1], boxes[b : b + 1, k : k + 1], 2, 2, 2)
            np.testing.assert_allclose(got[b, k], want[0, 0], atol=1e-5)


# ---------------------------------------------------------------- RoI pooling


@pytest.mark.parametrize("shape,p", [((2, 9, 11, 3), 3), ((1, 20, 20, 2), 7), ((2, 5, 6, 2), 7), ((1, 16, 13, 1), 2)])
def test_roi_pool_matches_numpy(shape, p):
    rng = np.random.default_rng(8)
    f = rng.normal(size=shape).astype(np.float32)
    boxes = random_boxes(rng, (shape[0], 12), -0.2, 1.2, min_size=0.0)
    np.testing.assert_array_equal(roi_pooling.roi_pool(f, boxes, p).numpy(), np_roi_pool(f, boxes, p))


def test_roi_pool_hand_computed():
    f = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    boxes = np.array(
        [[[0, 0, 1, 1], [0.25, 0.25, 0.25, 0.25], [1.2, 1.2, 1.5, 1.5], [-0.5, -0.5, -0.1, -0.1], [0, 0, 0.5, 1]]],
        np.float32,
    )
    got = roi_pooling.roi_pool(f, boxes, 2).numpy()[0, :, :, :, 0]
    np.testing.assert_array_equal(got[0], [[5, 7], [13, 15]])  # quadrant maxima
    np.testing.assert_array_equal(got[1], [[5, 5], [5, 5]])  # zero area: the one cell at (1, 1)
    np.testing.assert_array_equal(got[2], 0)  # outside the image
    np.testing.assert_array_equal(got[3], 0)
    np.testing.assert_array_equal(got[4], [[1, 3], [5, 7]])  # top half, rows 0 and 1


def test_roi_pool_gradient_reaches_the_maxima():
    rng = np.random.default_rng(9)
    f = tf.constant(rng.normal(size=(1, 6, 6, 2)).astype(np.float32))
    boxes = tf.constant([[[0.0, 0.0, 1.0, 1.0]]])
    with tf.GradientTape() as tape:
        tape.watch(f)
        total = tf.reduce_sum(roi_pooling.roi_pool(f, boxes, 3))
    grad = tape.gradient(total, f).numpy()
    # 3x3 bins of 2x2 cells: same as 2x2 max pooling.
    with tf.GradientTape() as tape:
        tape.watch(f)
        reference = tf.reduce_sum(tf.nn.max_pool2d(f, 2, 2, "VALID"))
    np.testing.assert_allclose(grad, tape.gradient(reference, f).numpy())


def test_roi_pool_needs_static_size():
    fn = tf.function(
        lambda f, b: roi_pooling.roi_pool(f, b, 2),
        input_signature=[tf.TensorSpec([1, None, None, 1]), tf.TensorSpec([1, 1, 4])],
    )
    with pytest.raises(ValueError, match="static"):
        fn.get_concrete_function()


def test_no_boxes_gives_empty_outputs():
    f = np.zeros((2, 8, 8, 18), np.float32)
    none = np.zeros((2, 0, 4), np.float32)
    assert roi_sampling.roi_align(f, none, 3).shape == (2, 0, 3, 3, 18)
    assert roi_sampling.ps_roi_align(f, none, 3).shape == (2, 0, 3, 3, 2)
    assert roi_pooling.roi_pool(f, none, 3).shape == (2, 0, 3, 3, 18)
    levels = np.zeros((2, 0), np.int32)
    assert roi_sampling.multi_level_roi_align([f, f[:, :4, :4]], none, levels, 3).shape == (2, 0, 3, 3, 18)
