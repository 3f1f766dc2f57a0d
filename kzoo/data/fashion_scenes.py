"""``fashion_scenes``: real Fashion-MNIST garments pasted onto textured canvases.

Each garment is scaled (bilinear) to a random size, given a random colour
shaded by its grey levels, and pasted at a random place; later garments
occlude earlier ones. A garment owns the pixels where its scaled grey level
is at least ``MASK_THRESHOLD`` (its own silhouette, not its square), minus
what later garments cover; its box is the tight box of those visible pixels.
Soft edges below the threshold are blended into the picture but belong to
no garment. As in ``shapes``, a garment is only placed where every earlier
one keeps at least 35 % of its pixels visible.

Garments never leak across splits: ``train`` draws from Fashion-MNIST's
first 54,000 training images, ``validation`` from the last 6,000, ``test``
from its 10,000 test images.

Configs:

- ``scenes`` (default): 128x128, 2 to 6 garments, 3000 / 300 / 300 images.
- ``single``: 64x64, exactly one garment (classification + localization and
  the classifier), 12000 / 1000 / 1000 images.
- ``tiny`` and ``single_tiny``: the first 64 / 16 / 16 images of those.
"""

import numpy as np

from kzoo.data import drawing, fashion_mnist
from kzoo.data.scene_builder import TINY_SPLITS, SceneBuilder, SceneConfig

CLASS_NAMES = fashion_mnist.CLASS_NAMES
MASK_THRESHOLD = 24
MIN_VISIBLE = 0.35
PLACEMENT_TRIES = 10
VALIDATION_START = 54_000  # Fashion-MNIST train images from here on are ours for validation
SINGLE_SPLITS = {"train": 12000, "validation": 1000, "test": 1000}


def garment_pools(split):
    """The (images, labels) a split may draw garments from."""
    if split == "test":
        return fashion_mnist.load("test")
    images, labels = fashion_mnist.load("train")
    if split == "train":
        return images[:VALIDATION_START], labels[:VALIDATION_START]
    return images[VALIDATION_START:], labels[VALIDATION_START:]


def generate_fashion_scene(rng, garments, labels, image_size=128, max_objects=6, single=False):
    """One ``fashion_scenes`` scene as NumPy arrays.

    Args:
        rng: a ``numpy.random.Generator``; the scene is a pure function of it
            and of the garment pool.
        garments: uint8 [N, 28, 28] Fashion-MNIST images to draw from.
        labels: int [N] their classes.
        image_size: side of the square canvas in pixels.
        max_objects: most garments per scene (ignored when ``single``).
        single: exactly one garment, scaled to 45-90 % of the canvas.

    Returns:
        The dict of ``shapes.generate_shapes_scene`` (image, instances,
        segmentation, boxes, classes).
    """
    size = image_size
    canvas = drawing.Canvas(drawing.random_texture(rng, size, size), MIN_VISIBLE)
    if single:
        count, side_range = 1, (0.45 * size, 0.9 * size)
    else:
        count, side_range = rng.integers(2, max_objects + 1), (0.2 * size, 0.5 * size)
    for _ in range(count):
        index = rng.integers(len(garments))
        side = int(rng.integers(int(side_range[0]), int(side_range[1]) + 1))
        grey = np.clip(drawing.resize_bilinear(garments[index], side, side), 0, 255)
        local_alpha = np.clip((grey - MASK_THRESHOLD / 3) / MASK_THRESHOLD, 0, 1)
        local_mask = grey >= MASK_THRESHOLD
        local_shade = 0.3 + 0.7 * grey[..., None] / 255
        for _ in range(PLACEMENT_TRIES):
            top, left = rng.integers(0, size - side + 1, size=2)
            window = np.s_[top : top + side, left : left + side]
            mask = np.zeros((size, size), bool)
            mask[window] = local_mask
            alpha = np.zeros((size, size), np.float32)
            alpha[window] = local_alpha
            colour = drawing.contrasting_colour(rng, canvas.image[mask].mean(axis=0))
            pixels = np.broadcast_to(colour, (size, size, 3)).copy()
            pixels[window] *= local_shade
            if canvas.paste(mask, pixels, labels[index], alpha=alpha):
                break
    return canvas.finish(rng)


class FashionScenes(SceneBuilder):
    """Fashion-MNIST garments pasted at random scales and places."""

    CLASS_NAMES = CLASS_NAMES
    SEED = 2
    DESCRIPTION = __doc__
    CITATION = """@article{xiao2017fashion,
  title={Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms},
  author={Xiao, Han and Rasul, Kashif and Vollgraf, Roland},
  journal={arXiv preprint arXiv:1708.07747},
  year={2017}
}"""
    BUILDER_CONFIGS = [
        SceneConfig(name="scenes", description="2 to 6 garments on 128x128 canvases."),
        SceneConfig(
            name="single", description="One garment on a 64x64 canvas.",
            image_size=64, max_objects=1, single=True, split_sizes=SINGLE_SPLITS,
        ),
        SceneConfig(name="tiny", description="First examples of `scenes`.", split_sizes=TINY_SPLITS),
        SceneConfig(
            name="single_tiny", description="First examples of `single`.",
            image_size=64, max_objects=1, single=True, split_sizes=TINY_SPLITS,
        ),
    ]

    def prepare_sources(self):
        # Fail before anything is written when the garments are missing.
        fashion_mnist.load("train")
        fashion_mnist.load("test")

    def generate(self, rng, split):
        config = self.builder_config
        garments, labels = garment_pools(split)
        return generate_fashion_scene(
            rng, garments, labels, config.image_size, config.max_objects, config.single
        )
