"""``shapes``: generated scenes of coloured geometric shapes.

Every image is a 128x128 textured background (colour gradient, soft or hard
stripes, or blotchy noise) with one to six shapes of five classes (circle,
square, triangle, star, cross), each with a random size, rotation and colour.
Later shapes occlude earlier ones; labels describe the visible pixels. A
shape is placed only where it leaves every earlier shape at least 35 % of its
own area visible (otherwise another place is tried, then the shape is left
out). Labels: boxes, classes, instance masks, semantic segmentation.

Configs: ``scenes`` (default; 3000 / 300 / 300 images) and ``tiny`` (the
first 64 / 16 / 16 of those, for tests and smoke runs).
"""

import numpy as np

from kzoo.data import drawing
from kzoo.data.scene_builder import TINY_SPLITS, SceneBuilder, SceneConfig

CLASS_NAMES = ("circle", "square", "triangle", "star", "cross")
MIN_VISIBLE = 0.35
PLACEMENT_TRIES = 10


def unit_polygon(name):
    """[K, 2] (x, y) vertices of a polygon class with circumradius 1."""
    if name == "cross":  # a plus sign whose arms are a third of its span wide
        w = 1 / 3
        corners = [(1, w), (w, w), (w, 1), (-w, 1), (-w, w), (-1, w),
                   (-1, -w), (-w, -w), (-w, -1), (w, -1), (w, -w), (1, -w)]
        return np.array(corners) / np.hypot(1, w)
    count, inner = {"square": (4, 1.0), "triangle": (3, 1.0), "star": (10, 0.45)}[name]
    theta = 2 * np.pi * np.arange(count) / count
    radii = np.where(np.arange(count) % 2 == 0, 1.0, inner)
    return np.stack([radii * np.cos(theta), radii * np.sin(theta)], -1)


def shape_mask(class_id, centre, radius, angle, height, width):
    """Boolean [height, width] mask of one shape.

    ``radius`` is the circumradius in pixels, ``angle`` the rotation in
    radians and ``centre`` (y, x) in pixels.
    """
    name = CLASS_NAMES[class_id]
    if name == "circle":
        return drawing.disk_mask(centre, radius, height, width)
    x, y = unit_polygon(name).T
    cos, sin = np.cos(angle), np.sin(angle)
    vertices = np.stack(
        [centre[0] + radius * (x * sin + y * cos), centre[1] + radius * (x * cos - y * sin)], -1
    )
    return drawing.polygon_mask(vertices, height, width)


def generate_shapes_scene(rng, image_size=128, max_objects=6, min_objects=1):
    """One ``shapes`` scene as NumPy arrays.

    Args:
        rng: a ``numpy.random.Generator``; the scene is a pure function of it.
        image_size: side of the square image in pixels.
        max_objects: most shapes in the scene.
        min_objects: fewest shapes attempted (placement can still fail).

    Returns:
        A dict with ``image`` uint8 [S, S, 3], ``instances`` uint8 [S, S]
        (0 background, ``i + 1`` object ``i``), ``segmentation`` uint8
        [S, S] (``class + 1``), ``boxes`` float32 [M, 4] (normalized
        ``[ymin, xmin, ymax, xmax]`` of the visible pixels) and ``classes``
        int64 [M].
    """
    size = image_size
    canvas = drawing.Canvas(drawing.random_texture(rng, size, size), MIN_VISIBLE)
    for _ in range(rng.integers(min_objects, max_objects + 1)):
        class_id = rng.integers(len(CLASS_NAMES))
        angle = rng.uniform(0, 2 * np.pi)
        radius = rng.uniform(0.06, 0.22) * size
        for _ in range(PLACEMENT_TRIES):
            centre = rng.uniform(radius, size - radius, size=2)
            mask = shape_mask(class_id, centre, radius, angle, size, size)
            colour = drawing.contrasting_colour(rng, canvas.image[mask].mean(axis=0))
            if canvas.paste(mask, colour, class_id):
                break
    return canvas.finish(rng)


class Shapes(SceneBuilder):
    """Generated scenes of circles, squares, triangles, stars and crosses."""

    CLASS_NAMES = CLASS_NAMES
    SEED = 1
    DESCRIPTION = __doc__
    BUILDER_CONFIGS = [
        SceneConfig(name="scenes", description="Up to 6 shapes on 128x128 textures."),
        SceneConfig(name="tiny", description="First examples of `scenes`.", split_sizes=TINY_SPLITS),
    ]

    def generate(self, rng, split):
        del split  # every split draws from the same distribution
        config = self.builder_config
        return generate_shapes_scene(rng, config.image_size, config.max_objects)
