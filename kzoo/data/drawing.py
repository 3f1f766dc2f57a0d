"""NumPy drawing for the generated datasets: textures, rasterizers, occlusion.

Every built-in dataset paints objects one after another onto a textured
canvas. ``Canvas`` keeps, next to the RGB picture, an instance map (0 for
background, ``i + 1`` for the ``i``-th object) that always holds the object
whose pixel is *visible*, so masks, boxes and segmentation derived from it
describe what can be seen, the way COCO annotates occluded objects.

Pixel ``(r, c)`` covers ``[r, r + 1) x [c, c + 1)`` in pixel units; its
centre is ``(r + 0.5, c + 0.5)``. Rasterizers test pixel centres. All
randomness comes from the ``numpy.random.Generator`` passed in, so a scene is
a pure function of its seed.
"""

import numpy as np


def resize_bilinear(array, height, width):
    """Bilinear resize of a [h, w] or [h, w, C] float array (align corners off)."""
    array = np.asarray(array, np.float32)

    def weights(out_size, in_size):
        # Sample positions of output pixel centres in input pixel units.
        pos = (np.arange(out_size) + 0.5) * in_size / out_size - 0.5
        pos = np.clip(pos, 0, in_size - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, in_size - 1)
        frac = (pos - lo).astype(np.float32)
        w = np.zeros((out_size, in_size), np.float32)
        w[np.arange(out_size), lo] += 1 - frac
        w[np.arange(out_size), hi] += frac
        return w

    wy = weights(height, array.shape[0])
    wx = weights(width, array.shape[1])
    rows = np.tensordot(wy, array, axes=(1, 0))  # [height, w, ...]
    return np.moveaxis(np.tensordot(wx, rows, axes=(1, 1)), 0, 1)


def random_texture(rng, height, width):
    """A [height, width, 3] float32 texture: gradient, stripes or blotchy noise."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    kind = rng.integers(3)
    c1, c2 = rng.uniform(0, 255, size=(2, 3)).astype(np.float32)
    if kind == 0:
        angle = rng.uniform(0, 2 * np.pi)
        t = xx * np.cos(angle) + yy * np.sin(angle)
        t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    elif kind == 1:
        angle = rng.uniform(0, np.pi)
        period = rng.uniform(5, 24)
        phase = (xx * np.cos(angle) + yy * np.sin(angle)) * (2 * np.pi / period)
        t = 0.5 + 0.5 * np.sin(phase)
        if rng.random() < 0.5:
            t = np.round(t)  # hard-edged stripes as well as soft ones
    else:
        cells = rng.integers(3, 12)
        coarse = rng.uniform(0, 255, size=(cells, cells, 3)).astype(np.float32)
        return resize_bilinear(coarse, height, width).astype(np.float32)
    return (c1 * (1 - t[..., None]) + c2 * t[..., None]).astype(np.float32)


def contrasting_colour(rng, reference, min_distance=90.0, tries=20):
    """A random RGB colour far from ``reference`` (the colour it will sit on)."""
    best, best_distance = None, -1.0
    for _ in range(tries):
        colour = rng.uniform(0, 255, size=3).astype(np.float32)
        distance = float(np.linalg.norm(colour - reference))
        if distance >= min_distance:
            return colour
        if distance > best_distance:
            best, best_distance = colour, distance
    return best


def _pixel_centres(height, width):
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    return yy + 0.5, xx + 0.5


def polygon_mask(vertices, height, width):
    """Even-odd fill of a polygon given as [K, 2] (y, x) vertices in pixels."""
    py, px = _pixel_centres(height, width)
    inside = np.zeros((height, width), bool)
    vertices = np.asarray(vertices, np.float32)
    for (y1, x1), (y2, x2) in zip(vertices, np.roll(vertices, -1, axis=0)):
        if y1 == y2:
            continue  # a horizontal edge never crosses a horizontal ray
        crosses = (y1 > py) != (y2 > py)
        x_at = (x2 - x1) * (py - y1) / (y2 - y1) + x1
        inside ^= crosses & (px < x_at)
    return inside


def disk_mask(centre, radius, height, width):
    """Pixels whose centre lies within ``radius`` of ``centre`` (y, x)."""
    py, px = _pixel_centres(height, width)
    return (py - centre[0]) ** 2 + (px - centre[1]) ** 2 <= radius**2


def capsule_mask(starts, ends, radii, height, width):
    """Union of thick segments: pixels within ``radii[k]`` of segment k.

    ``starts`` and ``ends`` are [K, 2] (y, x) in pixels, ``radii`` is [K].
    """
    py, px = _pixel_centres(height, width)
    py, px = py[..., None], px[..., None]  # [H, W, 1] against K segments
    ay, ax = np.asarray(starts, np.float32).T
    by, bx = np.asarray(ends, np.float32).T
    aby, abx = by - ay, bx - ax
    length2 = np.maximum(aby * aby + abx * abx, 1e-9)
    t = np.clip(((py - ay) * aby + (px - ax) * abx) / length2, 0.0, 1.0)
    dy, dx = py - ay - t * aby, px - ax - t * abx
    radii = np.asarray(radii, np.float32)
    return np.any(dy * dy + dx * dx <= radii * radii, axis=-1)


def box_from_mask(mask):
    """Normalized [ymin, xmin, ymax, xmax] of the smallest pixel-aligned box holding ``mask``."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    height, width = mask.shape
    return np.array(
        [rows[0] / height, cols[0] / width, (rows[-1] + 1) / height, (cols[-1] + 1) / width],
        np.float32,
    )


class Canvas:
    """A picture plus the instance map of who is visible where.

    ``paste`` refuses (returns False, changes nothing) a new object that would
    leave an earlier one with less than ``min_visible`` of its own area
    visible, so no object in a finished scene is nearly hidden and no
    unlabelled sliver of a hidden object remains in the picture.
    """

    def __init__(self, background, min_visible):
        self.image = np.asarray(background, np.float32).copy()
        height, width = self.image.shape[:2]
        self.instances = np.zeros((height, width), np.int32)
        self.areas = []  # full (unoccluded) area of each object
        self.classes = []
        self.min_visible = min_visible

    def _keeps_others_visible(self, covered):
        visible = np.bincount(self.instances[~covered], minlength=len(self.areas) + 1)[1:]
        return all(v >= self.min_visible * a for v, a in zip(visible, self.areas))

    def paste(self, mask, pixels, class_id, alpha=None):
        """Paint ``pixels`` (colour [3] or [H, W, 3]) as a new object with ``mask``.

        ``alpha`` ([H, W] in [0, 1], default the mask) blends soft edges;
        the object owns exactly the pixels of ``mask``.
        """
        if not mask.any() or not self._keeps_others_visible(mask):
            return False
        self._blend(mask if alpha is None else alpha, pixels)
        self.instances[mask] = len(self.areas) + 1
        self.areas.append(int(mask.sum()))
        self.classes.append(int(class_id))
        return True

    def occlude(self, mask, pixels):
        """Paint background stuff over ``mask`` (it belongs to no object)."""
        if not self._keeps_others_visible(mask):
            return False
        self._blend(mask, pixels)
        self.instances[mask] = 0
        return True

    def _blend(self, alpha, pixels):
        alpha = np.asarray(alpha, np.float32)[..., None]
        self.image += (np.asarray(pixels, np.float32) - self.image) * alpha

    def finish(self, rng, noise_std=6.0):
        """The finished scene as a dict of NumPy arrays (see ``scene_builder``)."""
        noise = rng.normal(0, rng.uniform(0, noise_std), size=self.image.shape)
        image = np.clip(np.round(self.image + noise), 0, 255).astype(np.uint8)
        count = len(self.areas)
        masks = self.instances[None] == np.arange(1, count + 1)[:, None, None]
        boxes = np.stack([box_from_mask(m) for m in masks]) if count else np.zeros((0, 4), np.float32)
        classes = np.asarray(self.classes, np.int64)
        lookup = np.concatenate([[0], classes + 1]).astype(np.uint8)
        return {
            "image": image,
            "instances": self.instances.astype(np.uint8),
            "segmentation": lookup[self.instances],
            "boxes": boxes.astype(np.float32),
            "classes": classes,
        }
