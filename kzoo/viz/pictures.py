"""Pictures of dataset elements and predictions, for every task family."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from kzoo.viz import draw  # noqa: E402


def show_element(ax, element, class_names=None, skeleton=(), title=None):
    """Draw a dataset element: image, segmentation or masks, boxes, keypoints (``title`` above, e.g. "truth")."""
    image = np.asarray(element["image"])
    height, width = image.shape[:2]
    ax.imshow(image)
    classes = np.asarray(element.get("classes", np.zeros((0,), np.int32)))
    if "masks" in element:
        draw.overlay_masks(ax, element["masks"], classes)
    elif "segmentation" in element:
        draw.overlay_segmentation(ax, element["segmentation"])
    if "boxes" in element:
        draw.draw_boxes(ax, element["boxes"], classes, height, width, class_names)
    if "keypoints" in element:
        draw.draw_keypoints(ax, element["keypoints"], height, width, skeleton)
    if title:
        ax.set_title(title, fontsize=8)
    ax.set_axis_off()


def show_prediction(ax, image, prediction, class_names=None, skeleton=(), score_threshold=0.3, source="prediction"):
    """Draw one image's predictions (a prediction dict without the batch axis).

    The title names ``source`` and, for detections, the score threshold of what is drawn.
    """
    image = np.asarray(image)
    height, width = image.shape[:2]
    ax.imshow(image)
    title = [source + (f", score >= {score_threshold:g}" if "detection_boxes" in prediction else "")]
    if "segmentation_mask" in prediction:
        draw.overlay_segmentation(ax, _resize_nearest(prediction["segmentation_mask"], height, width))
    if "detection_boxes" in prediction:
        count = int(prediction.get("num_detections", len(prediction["detection_scores"])))
        keep = np.asarray(prediction["detection_scores"][:count]) >= score_threshold
        boxes = np.asarray(prediction["detection_boxes"][:count])[keep]
        classes = np.asarray(prediction["detection_classes"][:count]).astype(int)[keep]
        scores = np.asarray(prediction["detection_scores"][:count])[keep]
        if "detection_masks" in prediction:
            from kzoo.ops.masks import paste_masks

            masks = paste_masks(np.asarray(prediction["detection_masks"][:count])[keep], boxes, height, width)
            draw.overlay_masks(ax, masks, classes)
        draw.draw_boxes(ax, boxes, classes, height, width, class_names, scores)
        if "detection_keypoints" in prediction:
            kp_scores = prediction.get("detection_keypoint_scores")
            draw.draw_keypoints(ax, np.asarray(prediction["detection_keypoints"][:count])[keep], height, width,
                                skeleton, None if kp_scores is None else np.asarray(kp_scores[:count])[keep])
    elif "boxes" in prediction:
        draw.draw_boxes(ax, np.asarray(prediction["boxes"])[None], np.asarray(prediction["classes"])[None],
                        height, width, class_names)
    if "keypoints" in prediction and "detection_keypoints" not in prediction:
        draw.draw_keypoints(ax, np.asarray(prediction["keypoints"])[None], height, width, skeleton)
    if "probabilities" in prediction:
        class_id = int(prediction["classes"])
        title.append(f"{draw.class_label(class_names, class_id)} {float(prediction['probabilities'][class_id]):.2f}")
    ax.set_title(": ".join(title), fontsize=8)
    ax.set_axis_off()


def _resize_nearest(label_map, height, width):
    label_map = np.asarray(label_map)
    rows = (np.arange(height) * label_map.shape[0] // height).clip(0, label_map.shape[0] - 1)
    cols = (np.arange(width) * label_map.shape[1] // width).clip(0, label_map.shape[1] - 1)
    return label_map[rows][:, cols]


def save_grid(draw_fns, path, columns=4, cell_inches=2.2):
    """Lay out ``draw_fns`` (each ``fn(ax)``) in a grid and write a PNG to ``path``."""
    count = max(len(draw_fns), 1)
    columns = min(columns, count)
    rows = -(-count // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(columns * cell_inches, rows * cell_inches), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, fn in zip(axes.flat, draw_fns):
        fn(ax)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
