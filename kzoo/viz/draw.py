"""Drawing primitives on a matplotlib Axes: boxes, masks, keypoints, segmentation.

Everything takes kzoo's conventions: normalized ``[ymin, xmin, ymax, xmax]``
boxes, keypoints as normalized (y, x[, visible]), class ids 0-based.
"""

import numpy as np
from matplotlib import colormaps

# Ten distinct hues first (tab20 pairs each hue with its light shade, so neighbouring ids looked
# alike), then the light shades.
_PALETTE = colormaps["tab10"].colors + colormaps["tab20"].colors[1::2]


def color(index):
    """A distinct RGB colour for class or instance ``index``."""
    return _PALETTE[int(index) % len(_PALETTE)]


def class_label(class_names, class_id):
    class_id = int(class_id)
    if class_names is not None and 0 <= class_id < len(class_names):
        return class_names[class_id]
    return str(class_id)


# Captions whose boxes start within this many pixels of each other are stacked, not overlaid.
_SAME_CORNER_PX = 3.0
_CAPTION_STEP_POINTS = 10.0  # a 6-point caption with its padding is about 9 points tall


def draw_boxes(ax, boxes, classes, height, width, class_names=None, scores=None):
    """Rectangles with "name score" captions; padded rows (class < 0) are skipped.

    Captions sit on each box's top-left corner. Where several boxes share a
    corner (one box predicted as several classes), their captions stack
    downwards in order of score: the most likely one sits on the box's edge
    and reads first, the others follow inside the box, and none hides
    another.
    """
    from matplotlib.patches import Rectangle

    boxes, classes = np.asarray(boxes), np.asarray(classes)
    order = np.argsort(-np.asarray(scores), kind="stable") if scores is not None else range(len(boxes))
    corners = []  # top-left corners captioned so far, one entry per caption
    for i in order:
        box, class_id = boxes[i], classes[i]
        if class_id < 0:
            continue
        ymin, xmin, ymax, xmax = box * [height, width, height, width]
        edge = color(class_id)
        ax.add_patch(Rectangle((xmin, ymin), xmax - xmin, ymax - ymin, fill=False, edgecolor=edge, linewidth=1.5))
        caption = class_label(class_names, class_id)
        if scores is not None:
            caption += f" {float(scores[i]):.2f}"
        above = sum(abs(x - xmin) <= _SAME_CORNER_PX and abs(y - ymin) <= _SAME_CORNER_PX for x, y in corners)
        corners.append((xmin, ymin))
        ax.annotate(caption, (xmin, ymin), xytext=(0, -above * _CAPTION_STEP_POINTS), textcoords="offset points",
                    fontsize=6, color="white", va="bottom",
                    bbox={"facecolor": edge, "alpha": 0.8, "pad": 1, "linewidth": 0})


def overlay_masks(ax, masks, classes, alpha=0.45):
    """Tint each instance mask [M, H, W] with its class colour."""
    masks = np.asarray(masks)
    if masks.size == 0:
        return
    overlay = np.zeros(masks.shape[1:] + (4,), np.float32)
    for mask, class_id in zip(masks, np.asarray(classes)):
        if class_id < 0:
            continue
        overlay[mask > 0.5] = (*color(class_id), alpha)
    ax.imshow(overlay, interpolation="nearest")


def overlay_segmentation(ax, segmentation, alpha=0.45, background=0):
    """Tint a label map [H, W]; label ``background`` stays clear, label c gets colour c - 1."""
    segmentation = np.asarray(segmentation)
    overlay = np.zeros(segmentation.shape + (4,), np.float32)
    for label in np.unique(segmentation):
        if label != background:
            overlay[segmentation == label] = (*color(label - 1), alpha)
    ax.imshow(overlay, interpolation="nearest")


def draw_keypoints(ax, keypoints, height, width, skeleton=(), scores=None, score_threshold=0.0):
    """Joints [M, J, 2 or 3] as dots and skeleton edges; invisible joints are skipped."""
    keypoints = np.asarray(keypoints)
    for m, person in enumerate(keypoints):
        visible = person[:, 2] > 0 if person.shape[-1] > 2 else np.ones(len(person), bool)
        if scores is not None:
            visible &= np.asarray(scores[m]) > score_threshold
        ys, xs = person[:, 0] * height, person[:, 1] * width
        for a, b in skeleton:
            if visible[a] and visible[b]:
                ax.plot([xs[a], xs[b]], [ys[a], ys[b]], color=color(m + 2), linewidth=1.5)
        ax.scatter(xs[visible], ys[visible], s=8, color=color(m), zorder=3)
