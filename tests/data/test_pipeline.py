"""Padding, resizing, flipping and batching of elements (``kzoo.data.pipeline``)."""

import colorsys

import numpy as np
import pytest
import tensorflow as tf

from kzoo.data import pipeline, stick_figures
from tests.data.contract import check_element, joint_pixels, reference_box, scene_to_element

FLIP = stick_figures.FLIP_INDICES


def _element(count=2, size=(4, 6), joints=3):
    rng = np.random.default_rng(count)
    return {
        "image": rng.integers(0, 256, size + (3,), dtype=np.uint8),
        "boxes": rng.uniform(0, 1, (count, 4)).astype(np.float32),
        "classes": np.arange(count, dtype=np.int32),
        "masks": rng.integers(0, 2, (count,) + size, dtype=np.uint8),
        "keypoints": rng.uniform(0, 1, (count, joints, 3)).astype(np.float32),
        "segmentation": rng.integers(0, 3, size, dtype=np.int32),
        "is_crowd": np.array([True, False] * count)[:count],
        "area": rng.uniform(1, 50, count).astype(np.float32),
        "image_id": np.int64(7),
    }


def _numpy(element):
    return {k: np.asarray(v) for k, v in element.items()}


@pytest.mark.parametrize("count, max_boxes", [(2, 5), (0, 3), (4, 2), (3, 3)])
def test_pad_to_max_boxes_matches_numpy(count, max_boxes):
    element = _element(count)
    padded = _numpy(pipeline.pad_to_max_boxes({k: tf.constant(v) for k, v in element.items()}, max_boxes))
    kept = min(count, max_boxes)
    sentinels = {"boxes": 0, "classes": -1, "masks": 0, "keypoints": 0, "is_crowd": False, "area": 0}
    for key, fill in sentinels.items():
        expected = np.asarray(element[key][:kept])
        pad = [(0, max_boxes - kept)] + [(0, 0)] * (expected.ndim - 1)
        np.testing.assert_array_equal(padded[key], np.pad(expected, pad, constant_values=fill))
        assert padded[key].dtype == element[key].dtype
    for key in ("image", "segmentation", "image_id"):
        np.testing.assert_array_equal(padded[key], element[key])


SIGNATURE = {
    "image": tf.TensorSpec((None, None, 3), tf.uint8),
    "boxes": tf.TensorSpec((None, 4), tf.float32),
    "classes": tf.TensorSpec((None,), tf.int32),
    "masks": tf.TensorSpec((None, None, None), tf.uint8),
    "keypoints": tf.TensorSpec((None, 3, 3), tf.float32),
    "segmentation": tf.TensorSpec((None, None), tf.int32),
    "is_crowd": tf.TensorSpec((None,), tf.bool),
    "area": tf.TensorSpec((None,), tf.float32),
    "image_id": tf.TensorSpec((), tf.int64),
}


def test_padding_in_a_graph_gives_static_shapes():
    elements = [_element(1), _element(3)]
    dataset = tf.data.Dataset.from_generator(lambda: iter(elements), output_signature=SIGNATURE)
    dataset = dataset.map(lambda e: pipeline.pad_to_max_boxes(e, 4))
    spec = dataset.element_spec
    assert spec["boxes"].shape == (4, 4) and spec["masks"].shape == (4, None, None)
    assert spec["keypoints"].shape == (4, 3, 3) and spec["classes"].shape == (4,)
    assert [list(e["classes"]) for e in dataset.as_numpy_iterator()] == [[0, -1, -1, -1], [0, 1, 2, -1]]


def test_flip_by_hand():
    image = np.arange(2 * 4 * 3, dtype=np.uint8).reshape(2, 4, 3)
    mask = np.array([[1, 1, 0, 0], [0, 1, 0, 0]], np.uint8)
    element = {
        "image": image,
        "boxes": np.array([[0.0, 0.0, 1.0, 0.5], [0, 0, 0, 0]], np.float32),
        "classes": np.array([3, -1], np.int32),  # second row is padding
        "masks": np.stack([mask, np.zeros_like(mask)]),
        "segmentation": mask.astype(np.int32) * 4,
        "keypoints": np.array([[[0.5, 0.125, 1.0], [0.25, 0.3, 0.0]], [[0, 0, 0], [0, 0, 0]]], np.float32),
    }
    flipped = _numpy(pipeline.flip_left_right(element, keypoint_flip_indices=(1, 0)))
    np.testing.assert_array_equal(flipped["image"], image[:, ::-1])
    np.testing.assert_array_equal(flipped["masks"][0], [[0, 0, 1, 1], [0, 0, 1, 0]])
    np.testing.assert_array_equal(flipped["segmentation"], [[0, 0, 4, 4], [0, 0, 4, 0]])
    np.testing.assert_allclose(flipped["boxes"], [[0.0, 0.5, 1.0, 1.0], [0, 0, 0, 0]])
    # Joints swap places (left <-> right) and mirror: x -> 1 - x.
    np.testing.assert_allclose(flipped["keypoints"][0], [[0.25, 0.7, 0.0], [0.5, 0.875, 1.0]])
    np.testing.assert_array_equal(flipped["keypoints"][1], 0)
    np.testing.assert_allclose(reference_box(flipped["masks"][0]), flipped["boxes"][0])


def test_flipped_stick_figures_still_obey_the_contract():
    checked = 0
    for seed in range(6):
        scene = stick_figures.generate_stick_figure_scene(np.random.default_rng(seed))
        element = scene_to_element(scene)
        flipped = _numpy(pipeline.flip_left_right(element, FLIP))
        # Joints exactly on a pixel edge may land on either side after 1 - x.
        x = flipped["keypoints"][..., 1].astype(np.float64) * 128
        if np.min(np.abs(x - np.round(x))) < 1e-3:
            continue
        check_element(flipped, 1, (128, 128), 14)
        names = stick_figures.JOINT_NAMES
        for figure in flipped["keypoints"]:
            # Upright figures face the viewer: their right hip is on the image left.
            hips = figure[[names.index("right_hip"), names.index("left_hip")], 1]
            assert hips[0] < hips[1]
        checked += 1
    assert checked >= 4
    twice = _numpy(pipeline.flip_left_right(pipeline.flip_left_right(element, FLIP), FLIP))
    for key in element:
        np.testing.assert_allclose(twice[key], element[key], atol=1e-6)


def test_flipping_keypoints_needs_the_swap():
    with pytest.raises(ValueError, match="keypoint_flip_indices"):
        pipeline.flip_left_right(_element(1))


def test_random_flip_gives_the_element_or_its_mirror():
    element = {k: tf.constant(v) for k, v in _element(2).items()}
    mirror = _numpy(pipeline.flip_left_right(element, (2, 1, 0)))
    outcomes = []
    tf.random.set_seed(3)
    for _ in range(24):
        out = _numpy(pipeline.random_flip_left_right(element, (2, 1, 0)))
        same = all(np.array_equal(out[k], np.asarray(element[k])) for k in out)
        mirrored = all(np.array_equal(out[k], mirror[k]) for k in out)
        assert same != mirrored
        outcomes.append(mirrored)
    assert 0 < sum(outcomes) < 24


def test_resize_by_hand():
    segmentation = np.arange(64, dtype=np.int32).reshape(8, 8)
    element = {
        "image": np.full((8, 8, 3), 77, np.uint8),
        "boxes": np.array([[0.1, 0.2, 0.3, 0.4]], np.float32),
        "classes": np.array([0], np.int32),
        "masks": (segmentation[None] % 3 == 0).astype(np.uint8),
        "segmentation": segmentation,
    }
    small = _numpy(pipeline.resize(element, (4, 4)))
    np.testing.assert_array_equal(small["image"], np.full((4, 4, 3), 77, np.uint8))
    # Nearest neighbour with half-pixel centres samples the odd rows and columns.
    np.testing.assert_array_equal(small["segmentation"], segmentation[1::2, 1::2])
    np.testing.assert_array_equal(small["masks"], element["masks"][:, 1::2, 1::2])
    np.testing.assert_array_equal(small["boxes"], element["boxes"])
    large = _numpy(pipeline.resize(element, (16, 16)))
    np.testing.assert_array_equal(large["segmentation"], np.repeat(np.repeat(segmentation, 2, 0), 2, 1))
    assert large["image"].dtype == np.uint8 and large["masks"].dtype == np.uint8


def test_batched_makes_dense_batches_from_varied_elements():
    elements = [_element(c, size) for c, size in [(1, (4, 6)), (3, (8, 5)), (0, (6, 6)), (2, (5, 9))]]
    dataset = tf.data.Dataset.from_generator(lambda: iter(elements), output_signature=SIGNATURE)
    batches = pipeline.batched(
        dataset, 3, max_boxes=2, image_size=(8, 8), flip=True, keypoint_flip_indices=(2, 1, 0)
    )
    spec = batches.element_spec
    assert all(isinstance(s, tf.TensorSpec) for s in spec.values())
    assert spec["masks"].shape.as_list() == [None, 2, 8, 8]
    assert spec["image"].shape.as_list() == [None, 8, 8, 3]
    sizes = [b["classes"].shape for b in batches.as_numpy_iterator()]
    assert sizes == [(3, 2), (1, 2)]
    classes = np.concatenate([b["classes"] for b in batches.as_numpy_iterator()])
    np.testing.assert_array_equal(classes, [[0, -1], [0, 1], [-1, -1], [0, 1]])
    fixed = pipeline.batched(dataset, 3, max_boxes=2, image_size=(8, 8), drop_remainder=True)
    assert fixed.element_spec["boxes"].shape.as_list() == [3, 2, 4]


def _zoom_element(height=24, width=32, boxes=((0.25, 0.25, 0.5, 0.625), (0.5, 0.5, 0.75, 0.875))):
    # Segmentation holds each pixel's own index, so the output reveals which window was cut.
    count = len(boxes)
    ids = np.arange(height * width, dtype=np.int32).reshape(height, width)
    rng = np.random.default_rng(5)
    keypoints = rng.uniform(0, 1, (count, 4, 3)).astype(np.float32)
    keypoints[..., 2] = 1.0
    return {
        "image": rng.integers(0, 256, (height, width, 3), dtype=np.uint8),
        "boxes": np.array(boxes, np.float32).reshape(count, 4),
        "classes": np.arange(count, dtype=np.int32),
        "masks": (ids[None] % (count + 1) == np.arange(count)[:, None, None]).astype(np.uint8),
        "keypoints": keypoints,
        "segmentation": ids,
        "area": np.full(count, 10.0, np.float32),
    }


@pytest.mark.parametrize(
    "boxes",
    [((0.25, 0.25, 0.5, 0.625), (0.5, 0.5, 0.75, 0.875)), ((0.11, 0.13, 0.93, 0.52),), ()],
    ids=["on pixel edges", "between pixel edges", "no objects"],
)
def test_random_zoom_in_matches_numpy_on_the_window_it_cut(boxes):
    element = _zoom_element(boxes=boxes)
    height, width = element["segmentation"].shape
    tensors = {k: tf.constant(v) for k, v in element.items()}
    for seed in range(20):
        out = _numpy(pipeline.random_zoom_in(tensors, min_scale=0.5, seed=seed))
        rows, cols = np.divmod(out["segmentation"], width)
        top, left, bottom, right = rows.min(), cols.min(), rows.max() + 1, cols.max() + 1
        h, w = bottom - top, right - left
        assert h >= round(0.5 * height) and abs(h / height - w / width) <= 1 / width + 1 / height
        # Every object is inside the window.
        for ymin, xmin, ymax, xmax in element["boxes"]:
            assert top <= ymin * height and ymax * height <= bottom and left <= xmin * width and xmax * width <= right
        scale = np.array([height / h, width / w] * 2)
        expected_boxes = (element["boxes"] - np.array([top / height, left / width] * 2)) * scale
        np.testing.assert_allclose(out["boxes"], expected_boxes.reshape(-1, 4), atol=1e-5)
        np.testing.assert_allclose(out["area"], element["area"] * height * width / (h * w), rtol=1e-5)
        window = element["image"][top:bottom, left:right].astype(np.float32)
        expected_image = np.clip(np.round(tf.image.resize(window, (height, width)).numpy()), 0, 255)
        np.testing.assert_array_equal(out["image"], expected_image.astype(np.uint8))
        # Masks travel with the segmentation: both are cut and resized by nearest neighbour.
        np.testing.assert_array_equal(
            out["masks"], (out["segmentation"][None] % (len(boxes) + 1) == np.arange(len(boxes))[:, None, None])
        )
        points = (element["keypoints"][..., :2] - [top / height, left / width]) * [height / h, width / w]
        inside = np.all((points >= 0) & (points <= 1), axis=-1)
        np.testing.assert_allclose(out["keypoints"][..., :2], np.clip(points, 0, 1), atol=1e-5)
        np.testing.assert_array_equal(out["keypoints"][..., 2], inside.astype(np.float32))


def test_random_zoom_in_varies_and_leaves_padding_alone():
    element = pipeline.pad_to_max_boxes({k: tf.constant(v) for k, v in _zoom_element().items()}, 4)
    windows = set()
    for seed in range(10):
        out = _numpy(pipeline.random_zoom_in(element, min_scale=0.5, seed=seed))
        windows.add((out["segmentation"].min(), out["segmentation"].max()))
        np.testing.assert_array_equal(out["boxes"][2:], 0)
        np.testing.assert_array_equal(out["classes"], [0, 1, -1, -1])
    assert len(windows) > 5


def test_random_zoom_in_at_scale_one_is_the_identity():
    element = {k: tf.constant(v) for k, v in _zoom_element().items()}
    out = pipeline.random_zoom_in(element, min_scale=1.0, seed=1)
    for key in element:
        np.testing.assert_allclose(np.asarray(out[key], np.float64), np.asarray(element[key], np.float64), atol=1e-6)


def test_random_zoom_in_keeps_a_box_that_fills_the_image():
    element = {k: tf.constant(v) for k, v in _zoom_element(boxes=((0.0, 0.0, 1.0, 1.0),)).items()}
    out = pipeline.random_zoom_in(element, min_scale=0.3, seed=2)
    np.testing.assert_array_equal(out["segmentation"], element["segmentation"])


def test_random_zoom_in_refuses_a_bad_scale():
    with pytest.raises(ValueError, match="min_scale"):
        pipeline.random_zoom_in({k: tf.constant(v) for k, v in _zoom_element().items()}, min_scale=0.0)


def _hsv(image):
    return np.array([[colorsys.rgb_to_hsv(*(pixel / 255.0)) for pixel in row] for row in image.astype(np.float64)])


def test_random_color_jitter_scales_exposure_and_saturation_only():
    rng = np.random.default_rng(0)
    # Mid-range colours, so that no channel clips at the factors drawn.
    image = rng.integers(60, 150, (6, 7, 3), dtype=np.uint8)
    element = {"image": tf.constant(image), "boxes": tf.constant([[0.1, 0.2, 0.5, 0.6]]), "classes": tf.constant([1])}
    seen = set()
    for seed in range(6):
        jittered = pipeline.random_color_jitter(element, factor=1.5, seed=seed)
        np.testing.assert_array_equal(jittered["boxes"], element["boxes"])
        got = jittered["image"].numpy()
        assert got.dtype == np.uint8
        before, after = _hsv(image), _hsv(got)
        exposure = np.median(after[..., 2] / before[..., 2])
        saturation = np.median(after[..., 1] / before[..., 1])
        assert 1 / 1.5 - 0.02 <= exposure <= 1.5 + 0.02 and 1 / 1.5 - 0.02 <= saturation <= 1.5 + 0.02
        seen.add((exposure > 1, saturation > 1))
        # The NumPy reference: colorsys with those two factors, to within rounding.
        expected = np.array([
            [colorsys.hsv_to_rgb(h, min(s * saturation, 1.0), min(v * exposure, 1.0)) for h, s, v in row]
            for row in before
        ]) * 255.0
        np.testing.assert_allclose(got, expected, atol=2.0)
    assert len(seen) > 1  # the factors vary, both ways
    unchanged = pipeline.random_color_jitter(element, factor=1.0)["image"].numpy()
    np.testing.assert_allclose(unchanged, image, atol=1)
    with pytest.raises(ValueError, match=">= 1"):
        pipeline.random_color_jitter(element, factor=0.5)
