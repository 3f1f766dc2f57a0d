"""``stick_figures``: people-like figures with the lecture's 14 joints.

A figure faces the viewer (its right side on the image's left), has a random
lean, arm and leg angles, elbow and knee bends, size and colour, and is drawn
as thick limbs, a torso and a round head. Later figures occlude earlier ones,
and a textured rectangle may occlude any of them. A joint is *visible* when
the pixel holding it shows its own figure; hidden joints keep their true
position with ``visible = 0`` (as in LSP), so DeepPose-style regression can
still learn them. Masks, boxes and segmentation (one class, ``person``)
describe the visible pixels.

Joints, in LSP order, named with the lecture's words (see ``JOINT_NAMES``):
right foot, right knee, right hip, left hip, left knee, left foot, right hand,
right elbow, right shoulder, left shoulder, left elbow, left hand, neck, head
top. Keypoints are float32 [14, 3] per figure: (y, x, visible), y and x
normalized by image height and width to [0, 1].

Configs: ``scenes`` (default; 128x128, 1 to 4 figures, 3000 / 300 / 300),
``single`` (64x64, one large figure for DeepPose, 12000 / 1000 / 1000), and
``tiny`` / ``single_tiny`` (their first 64 / 16 / 16 images).
"""

import numpy as np

from kzoo.data import drawing
from kzoo.data.scene_builder import TINY_SPLITS, SceneBuilder, SceneConfig

CLASS_NAMES = ("person",)
JOINT_NAMES = (
    "right_foot", "right_knee", "right_hip", "left_hip", "left_knee", "left_foot",
    "right_hand", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_hand",
    "neck", "head_top",
)
# Pairs drawn as a skeleton; the torso is drawn from the neck to both hips.
SKELETON = (
    (0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9), (9, 10), (10, 11),
    (8, 12), (9, 12), (12, 13), (2, 12), (3, 12),
)
# COCO's per-joint OKS sigmas (Ronchi and Perona) for keypoint AP: feet, knees, hips, hands, elbows and
# shoulders take COCO's ankle, knee, hip, wrist, elbow and shoulder values; COCO has no neck or head top,
# so the neck takes the shoulders' 0.079 and the head top the ears' 0.035 (a point on the head's outline).
OKS_SIGMAS = (
    0.089, 0.087, 0.107, 0.107, 0.087, 0.089,
    0.062, 0.072, 0.079, 0.079, 0.072, 0.062,
    0.079, 0.035,
)
# A horizontal flip turns each right joint into the left one and back.
FLIP_INDICES = (5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 7, 6, 12, 13)
MIN_VISIBLE = 0.4
PLACEMENT_TRIES = 10
SINGLE_SPLITS = {"train": 12000, "validation": 1000, "test": 1000}
HEAD_RADIUS = 0.075  # body units: a standing figure is about 0.92 tall


def sample_pose(rng):
    """Random pose: (joints, segments) in body units, joints as complex x + iy.

    ``joints`` is complex [14] in ``JOINT_NAMES`` order around a pelvis at 0;
    ``segments`` is a list of (start, end, radius) capsules that draw it.
    """
    lean = rng.uniform(-0.25, 0.25)
    down = 1j * np.exp(1j * lean)  # along the torso, towards the pelvis (y grows downwards)
    right = 1j * down  # the figure's right: image left when upright
    neck = -0.30 * down
    head_top = neck - 0.17 * down * np.exp(1j * rng.uniform(-0.35, 0.35))
    joints = {"neck": neck, "head_top": head_top}
    facing = rng.choice([-1.0, 1.0])  # which way knees bend
    for side, sign in (("right", 1.0), ("left", -1.0)):
        shoulder = neck + sign * 0.10 * right + 0.03 * down
        upper_arm = down * np.exp(1j * sign * rng.uniform(-0.3, 2.8))
        elbow = shoulder + 0.15 * upper_arm
        hand = elbow + 0.14 * upper_arm * np.exp(1j * sign * rng.uniform(-2.4, 2.4))
        hip = sign * 0.06 * right
        thigh = down * np.exp(1j * sign * rng.uniform(-0.3, 0.9))
        knee = hip + 0.23 * thigh
        foot = knee + 0.22 * thigh * np.exp(1j * facing * rng.uniform(-0.2, 1.6))
        parts = dict(shoulder=shoulder, elbow=elbow, hand=hand, hip=hip, knee=knee, foot=foot)
        joints.update({f"{side}_{part}": point for part, point in parts.items()})
    j = joints
    bones = (("shoulder", "elbow"), ("elbow", "hand"), ("hip", "knee"), ("knee", "foot"))
    limbs = [(j[f"{s}_{a}"], j[f"{s}_{b}"], 0.024) for s in ("right", "left") for a, b in bones]
    segments = limbs + [
        (neck, 0j, 0.05),  # torso, down to the pelvis
        (j["right_hip"], j["left_hip"], 0.04),
        (j["right_shoulder"], j["left_shoulder"], 0.03),
        (neck, head_top, 0.02),  # covers the head-top joint's own pixel
    ]
    head_centre = head_top + (neck - head_top) * HEAD_RADIUS / abs(neck - head_top)
    return np.array([joints[name] for name in JOINT_NAMES]), segments, head_centre


def figure_mask(segments, head_centre, scale, offset, height, width):
    """Boolean [height, width] mask of a figure scaled by ``scale`` px and moved by ``offset``."""
    starts = np.array([[s.imag, s.real] for s, _, _ in segments]) * scale + offset
    ends = np.array([[e.imag, e.real] for _, e, _ in segments]) * scale + offset
    # At least a pixel thick, so every joint's own pixel is drawn.
    radii = np.maximum(np.array([r for _, _, r in segments]) * scale, 1.0)
    centre = np.array([head_centre.imag, head_centre.real]) * scale + offset
    return drawing.capsule_mask(starts, ends, radii, height, width) | drawing.disk_mask(
        centre, HEAD_RADIUS * scale, height, width
    )


def _extent(segments, head_centre, scale):
    points = [p for s, e, _ in segments for p in (s, e)]
    ys = np.array([p.imag for p in points] + [head_centre.imag]) * scale
    xs = np.array([p.real for p in points] + [head_centre.real]) * scale
    margin = max(HEAD_RADIUS * scale, 1.0) + 1.0
    return ys.min() - margin, xs.min() - margin, ys.max() + margin, xs.max() + margin


def generate_stick_figure_scene(rng, image_size=128, max_objects=4, single=False):
    """One ``stick_figures`` scene as NumPy arrays.

    Args:
        rng: a ``numpy.random.Generator``; the scene is a pure function of it.
        image_size: side of the square image in pixels.
        max_objects: most figures in the scene (ignored when ``single``).
        single: exactly one figure, 60-95 % of the image tall.

    Returns:
        The dict of ``shapes.generate_shapes_scene`` plus ``keypoints``
        float32 [M, 14, 3] as (y, x, visible) with y, x normalized.
    """
    size = image_size
    canvas = drawing.Canvas(drawing.random_texture(rng, size, size), MIN_VISIBLE)
    count = 1 if single else rng.integers(1, max_objects + 1)
    height_range = (0.6, 0.95) if single else (0.3, 0.8)
    placed = []
    for _ in range(count):
        joints, segments, head_centre = sample_pose(rng)
        scale = rng.uniform(*height_range) * size
        ymin, xmin, ymax, xmax = _extent(segments, head_centre, scale)
        # A pose wider or taller than the image is shrunk until it fits.
        shrink = min(1.0, (size - 1) / (ymax - ymin), (size - 1) / (xmax - xmin))
        scale *= shrink
        ymin, xmin, ymax, xmax = np.array([ymin, xmin, ymax, xmax]) * shrink
        # Drawn once in its own window at a random sub-pixel offset, then
        # tried at whole-pixel places.
        offset = np.array([-ymin, -xmin]) + rng.uniform(0, 1, size=2)
        window = np.ceil(np.array([ymax, xmax]) + offset).astype(int)
        local = figure_mask(segments, head_centre, scale, offset, *window)
        for _ in range(PLACEMENT_TRIES):
            top, left = rng.integers(0, size - window + 1)
            mask = np.zeros((size, size), bool)
            mask[top : top + window[0], left : left + window[1]] = local
            colour = drawing.contrasting_colour(rng, canvas.image[mask].mean(axis=0))
            if canvas.paste(mask, colour, 0):
                points = np.stack([joints.imag, joints.real], -1) * scale + offset
                placed.append(points + [top, left])
                break
    if rng.random() < 0.5:
        for _ in range(PLACEMENT_TRIES):
            top, left = rng.uniform(0, 0.85 * size, size=2)
            bottom, right = top + rng.uniform(0.15, 0.5, size=2) * size
            yy, xx = np.mgrid[0:size, 0:size] + 0.5
            occluder = (yy >= top) & (yy < bottom) & (xx >= left) & (xx < right)
            if canvas.occlude(occluder, drawing.random_texture(rng, size, size)):
                break
    instances = canvas.instances
    scene = canvas.finish(rng)
    keypoints = np.zeros((len(placed), len(JOINT_NAMES), 3), np.float32)
    for i, points in enumerate(placed):
        keypoints[i, :, :2] = points / size
        # Visibility is read at the stored (float32) position, so it agrees
        # exactly with what a reader of the dataset computes.
        rows, cols = np.floor(keypoints[i, :, :2].astype(np.float64) * size).astype(int).T
        keypoints[i, :, 2] = instances[rows, cols] == i + 1
    scene["keypoints"] = keypoints
    return scene


class StickFigures(SceneBuilder):
    """People-like stick figures with 14 joints, for pose estimation."""

    CLASS_NAMES = CLASS_NAMES
    NUM_KEYPOINTS = len(JOINT_NAMES)
    SEED = 3
    DESCRIPTION = __doc__
    CITATION = """@inproceedings{johnson2010lsp,
  title={Clustered Pose and Nonlinear Appearance Models for Human Pose Estimation},
  author={Johnson, Sam and Everingham, Mark},
  booktitle={BMVC},
  year={2010}
}"""
    BUILDER_CONFIGS = [
        SceneConfig(name="scenes", description="1 to 4 figures on 128x128 textures.", max_objects=4),
        SceneConfig(
            name="single", description="One figure on a 64x64 texture, for DeepPose.",
            image_size=64, max_objects=1, single=True, split_sizes=SINGLE_SPLITS,
        ),
        SceneConfig(
            name="tiny", description="First examples of `scenes`.",
            max_objects=4, split_sizes=TINY_SPLITS,
        ),
        SceneConfig(
            name="single_tiny", description="First examples of `single`.",
            image_size=64, max_objects=1, single=True, split_sizes=TINY_SPLITS,
        ),
    ]

    def generate(self, rng, split):
        del split  # every split draws from the same distribution
        config = self.builder_config
        return generate_stick_figure_scene(rng, config.image_size, config.max_objects, config.single)
