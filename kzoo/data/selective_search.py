"""Selective search (Uijlings et al. 2013): the external region proposals of R-CNN and Fast R-CNN.

``selective_search(image)`` runs OpenCV's implementation
(``cv2.ximgproc.segmentation``, from opencv-contrib) on one uint8 RGB
image and returns kzoo boxes: float32 [P, 4] ``[ymin, xmin, ymax, xmax]``
normalized by the image's height and width, in the order selective search
ranks them, duplicates and zero-area boxes removed.

Guards. OpenCV's selective search raises ``cv2.error`` on some images
(opencv_contrib issue 705: the texture strategy cuts a rotated gradient
image out of a too small canvas) and on aspect ratios above about 2.4
(issue 2101), and its time grows quickly with image size. So the image is
first shrunk until its longer side is at most ``max_side``, then padded at
the bottom or right, with its mean colour, to an aspect ratio of at most
``MAX_ASPECT_RATIO``; boxes are clipped back to the image and normalized by
its own (unpadded) size. If OpenCV still raises, or returns no usable box,
the result is ``grid_boxes(max_proposals)``, a fixed multi-scale sliding
window, and the fallback is counted in a ``SearchCounter`` (or, without
one, reported with a ``RuntimeWarning``). A crash inside OpenCV that kills
the process or a hang cannot be caught here; the padding avoids the known
triggers.

Reproducibility. OpenCV ranks each region by its hierarchy level times
C's ``rand()``, so the order changes from call to call. ``rand`` is seeded
(``srand(0)``, through ctypes, where the C library allows it) before every
search, so the same image gives the same proposals, in the same order, in
any process.
"""

import ctypes
import dataclasses
import warnings

import cv2
import numpy as np

MODES = ("fast", "quality")
MAX_ASPECT_RATIO = 2.0
GRID_SCALES = (1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125)


@dataclasses.dataclass
class SearchCounter:
    """What happened over many ``selective_search`` calls.

    Attributes:
        images: images searched.
        fallbacks: images that got ``grid_boxes`` instead of selective search.
        last_error: the message of the latest failure, or None.
    """

    images: int = 0
    fallbacks: int = 0
    last_error: str | None = None


def grid_boxes(max_proposals):
    """The fallback proposals: a multi-scale sliding window, coarse to fine.

    Square windows (in normalized coordinates, so they follow the image's
    aspect ratio) of side ``s`` for ``s`` in ``GRID_SCALES`` (1, 1/2, ...,
    1/32), moved by ``s / 2`` across the image: 1, 9, 49, 225, 961 and 3969
    boxes per scale. They depend on nothing but ``max_proposals``.

    Args:
        max_proposals: how many boxes to return (at most 5214).

    Returns:
        float32 [min(max_proposals, 5214), 4] normalized boxes, the whole
        image first.
    """
    boxes = []
    for side in GRID_SCALES:
        starts = np.arange(0.0, 1.0 - side + 1e-9, side / 2)
        y, x = np.meshgrid(starts, starts, indexing="ij")
        y, x = y.ravel(), x.ravel()
        boxes.append(np.stack([y, x, y + side, x + side], axis=-1))
    return np.concatenate(boxes)[:max_proposals].astype(np.float32)


def selective_search(image, max_proposals=2000, mode="fast", max_side=500, counter=None):
    """Selective search proposals of one image, as normalized kzoo boxes.

    Args:
        image: uint8 [H, W, 3] RGB.
        max_proposals: keep the first this many (selective search's ranking).
        mode: ``"fast"`` (``switchToSelectiveSearchFast``, what R-CNN used:
            about 2000 boxes on a PASCAL image) or ``"quality"``
            (``switchToSelectiveSearchQuality``: more boxes, higher recall,
            several times slower).
        max_side: the image is shrunk (never enlarged) so its longer side is
            at most this many pixels before the search; None keeps its size.
        counter: a ``SearchCounter`` to count this image and a fallback in;
            None warns on a fallback instead.

    Returns:
        float32 [P, 4] ``[ymin, xmin, ymax, xmax]`` in [0, 1], 1 <= P <=
        ``max_proposals``, every box of positive area, no two equal. On a
        failure, ``grid_boxes(max_proposals)``.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8 or 0 in image.shape:
        raise ValueError(f"selective_search takes a uint8 [H, W, 3] image, got {image.dtype} {image.shape}.")
    if mode not in MODES:
        raise ValueError(f"Unknown mode {mode!r}; use one of {MODES}.")
    if max_proposals < 1:
        raise ValueError(f"max_proposals must be positive, got {max_proposals}.")
    if counter is not None:
        counter.images += 1
    search_image, (height, width) = _prepare(image, max_side)
    try:
        rects = _run(search_image, mode)
        boxes = _to_boxes(rects, height, width, max_proposals)
        if len(boxes) == 0:
            raise cv2.error("selective search returned no box inside the image")
        return boxes
    except cv2.error as error:
        message = f"selective search failed on a {image.shape} image: {str(error).strip()}"
        if counter is None:
            warnings.warn(f"{message}; using grid_boxes instead.", RuntimeWarning, stacklevel=2)
        else:
            counter.fallbacks += 1
            counter.last_error = message
        return grid_boxes(max_proposals)


def _prepare(image, max_side):
    """BGR image to search (shrunk, then padded), and the size of the image inside it."""
    height, width = image.shape[:2]
    scale = 1.0 if max_side is None else min(1.0, max_side / max(height, width))
    if scale < 1.0:
        height, width = max(1, round(height * scale)), max(1, round(width * scale))
        # INTER_AREA averages the pixels a shrunk pixel covers: no aliasing.
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    padded_height = max(height, int(np.ceil(width / MAX_ASPECT_RATIO)))
    padded_width = max(width, int(np.ceil(height / MAX_ASPECT_RATIO)))
    if (padded_height, padded_width) != (height, width):
        # A flat border in the image's mean colour makes one segment that
        # merges late; the boxes it adds are cut away by the clipping.
        colour = [float(c) for c in image.reshape(-1, 3).mean(axis=0)]
        image = cv2.copyMakeBorder(
            image, 0, padded_height - height, 0, padded_width - width, cv2.BORDER_CONSTANT, value=colour
        )
    return np.ascontiguousarray(image[..., ::-1]), (height, width)


def _run(bgr, mode):
    """OpenCV's selective search: int [R, 4] rects as (x, y, w, h) pixels, best first."""
    previous_threads = cv2.getNumThreads()
    # The search is sequential (graph segmentation, then greedy merging), so
    # more OpenCV threads gain nothing measurable and only compete with
    # tf.data and TF for the cores.
    cv2.setNumThreads(1)
    try:
        search = cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()
        search.setBaseImage(bgr)
        if mode == "fast":
            search.switchToSelectiveSearchFast()
        else:
            search.switchToSelectiveSearchQuality()
        _seed_c_rand()
        rects = search.process()
    finally:
        cv2.setNumThreads(previous_threads)
    return np.asarray(rects, np.int64).reshape(-1, 4)


def _seed_c_rand():
    """Seeds C's ``rand()``, which OpenCV ranks regions with; a no-op where that is impossible."""
    try:
        ctypes.CDLL(None).srand(0)
    except (OSError, AttributeError, TypeError):
        pass


def _to_boxes(rects, height, width, max_proposals):
    """Pixel (x, y, w, h) rects -> the first ``max_proposals`` distinct normalized boxes inside the image."""
    x, y, w, h = rects.T
    pixels = np.stack(
        [np.clip(y, 0, height), np.clip(x, 0, width), np.clip(y + h, 0, height), np.clip(x + w, 0, width)],
        axis=-1,
    )
    pixels = pixels[(pixels[:, 2] > pixels[:, 0]) & (pixels[:, 3] > pixels[:, 1])]
    # Clipping off the padding can make two rects equal: keep the first.
    _, first = np.unique(pixels, axis=0, return_index=True)
    pixels = pixels[np.sort(first)][:max_proposals]
    return (pixels / np.array([height, width, height, width], np.float64)).astype(np.float32)
