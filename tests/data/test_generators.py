"""The pure NumPy scene generators: contract, determinism, occlusion, poses."""

import numpy as np
import pytest

from kzoo.data import fashion_scenes, shapes, stick_figures
from tests.data.contract import check_element, joint_pixels, scene_to_element

SEEDS = range(12)


def _fashion_pool():
    return fashion_scenes.garment_pools("validation")


GENERATORS = {
    "shapes": (lambda rng: shapes.generate_shapes_scene(rng), len(shapes.CLASS_NAMES), 0),
    "fashion": (
        lambda rng: fashion_scenes.generate_fashion_scene(rng, *_fashion_pool()),
        10,
        0,
    ),
    "fashion_single": (
        lambda rng: fashion_scenes.generate_fashion_scene(rng, *_fashion_pool(), 64, single=True),
        10,
        0,
    ),
    "figures": (lambda rng: stick_figures.generate_stick_figure_scene(rng), 1, 14),
    "figures_single": (
        lambda rng: stick_figures.generate_stick_figure_scene(rng, 64, single=True),
        1,
        14,
    ),
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_scenes_obey_the_contract(name):
    generate, num_classes, num_keypoints = GENERATORS[name]
    counts = []
    for seed in SEEDS:
        scene = generate(np.random.default_rng(seed))
        check_element(scene_to_element(scene), num_classes, num_keypoints=num_keypoints)
        counts.append(len(scene["classes"]))
    if name.endswith("single"):
        assert counts == [1] * len(SEEDS)
    else:
        assert max(counts) > 1, "scenes hold several objects"


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_same_seed_same_scene_other_seed_other_scene(name):
    generate = GENERATORS[name][0]
    first, again = generate(np.random.default_rng(7)), generate(np.random.default_rng(7))
    assert first.keys() == again.keys()
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    other = generate(np.random.default_rng(8))
    assert not np.array_equal(first["image"], other["image"])


def test_shapes_use_every_class_and_overlap():
    classes, overlapping = set(), 0
    for seed in range(40):
        scene = shapes.generate_shapes_scene(np.random.default_rng(seed))
        classes |= set(scene["classes"].tolist())
        boxes = scene["boxes"]
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                overlap = np.minimum(boxes[i, 2:], boxes[j, 2:]) - np.maximum(boxes[i, :2], boxes[j, :2])
                overlapping += bool(np.all(overlap > 0))
    assert classes == set(range(len(shapes.CLASS_NAMES)))
    assert overlapping > 0


@pytest.mark.parametrize("class_id", range(len(shapes.CLASS_NAMES)))
def test_shape_masks_have_the_expected_area(class_id):
    # Circumradius 40 px, centred on a 128 px canvas: compare with the
    # shapes' areas from geometry (pixel-centre sampling is within ~1.5 %).
    radius = 40.0
    w = 1 / 3
    expected = {
        "circle": np.pi * radius**2,
        "square": 2 * radius**2,
        "triangle": 3 * np.sqrt(3) / 4 * radius**2,
        "star": 10 * 0.5 * radius * 0.45 * radius * np.sin(2 * np.pi / 10),
        "cross": (4 * 2 * w - 4 * w * w) * radius**2 / (1 + w * w),
    }[shapes.CLASS_NAMES[class_id]]
    mask = shapes.shape_mask(class_id, (64.0, 64.0), radius, 0.3, 128, 128)
    assert abs(mask.sum() - expected) / expected < 0.015


def test_fashion_masks_are_the_garment_silhouette():
    # A garment that is a solid 14x14 block: its mask is a solid square of
    # half the pasted side, its box that square, its class the garment's.
    garment = np.zeros((1, 28, 28), np.uint8)
    garment[0, 7:21, 7:21] = 255
    for seed in range(5):
        scene = fashion_scenes.generate_fashion_scene(
            np.random.default_rng(seed), garment, np.array([4]), 64, single=True
        )
        mask = scene["instances"] == 1
        rows, cols = np.nonzero(mask)
        height, width = np.ptp(rows) + 1, np.ptp(cols) + 1
        assert height == width and mask.sum() == height * width
        assert scene["classes"].tolist() == [4]
        # A block of 14/28 of the side, scaled bilinearly: about half the side.
        side_range = (0.45 * 64 / 2 - 2, 0.9 * 64 / 2 + 2)
        assert side_range[0] <= height <= side_range[1]


def test_fashion_uses_only_the_given_pool():
    images, labels = _fashion_pool()
    pool = labels == 7
    for seed in range(5):
        scene = fashion_scenes.generate_fashion_scene(np.random.default_rng(seed), images[pool], labels[pool])
        assert set(scene["classes"].tolist()) == {7}


def test_fashion_splits_draw_from_disjoint_garments():
    from kzoo.data import fashion_mnist

    train_images, train_labels = fashion_mnist.load("train")
    test_images, _ = fashion_mnist.load("test")
    ours = {split: fashion_scenes.garment_pools(split)[0] for split in ("train", "validation", "test")}
    np.testing.assert_array_equal(ours["train"], train_images[:54000])
    np.testing.assert_array_equal(ours["validation"], train_images[54000:])
    np.testing.assert_array_equal(ours["test"], test_images)
    assert len(train_labels) == 60000 and len(test_images) == 10000


def test_stick_figure_joints_follow_the_skeleton_and_get_hidden():
    hidden = 0
    for seed in range(30):
        scene = stick_figures.generate_stick_figure_scene(np.random.default_rng(seed))
        keypoints = scene["keypoints"]
        hidden += int((keypoints[..., 2] == 0).sum())
        rows, cols = joint_pixels(keypoints, 128, 128)
        for i, figure in enumerate(keypoints):
            # A hidden joint's pixel is covered: by background stuff or another figure.
            covered = scene["instances"][rows[i], cols[i]] != i + 1
            np.testing.assert_array_equal(figure[:, 2] == 0, covered)
            # Limbs have their drawn proportions: an upper arm is shorter than a thigh.
            names = stick_figures.JOINT_NAMES
            joint = {n: figure[k, :2] * 128 for k, n in enumerate(names)}
            arm = np.linalg.norm(joint["right_shoulder"] - joint["right_elbow"])
            thigh = np.linalg.norm(joint["right_hip"] - joint["right_knee"])
            assert arm < thigh
    assert hidden > 0, "occlusion hides some joints"


def test_upright_figure_has_its_right_side_on_the_image_left():
    lefts = 0
    for seed in range(20):
        joints, _, _ = stick_figures.sample_pose(np.random.default_rng(seed))
        names = stick_figures.JOINT_NAMES
        right_hip, left_hip = joints[names.index("right_hip")], joints[names.index("left_hip")]
        lefts += right_hip.real < left_hip.real  # complex x + iy
    assert lefts == 20
