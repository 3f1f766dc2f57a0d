"""``kzoo predict``: run an export on image files and draw what it found."""

import os

import numpy as np
import tensorflow as tf

from kzoo.export.predictor import load_predictor
from kzoo.viz import save_grid, show_prediction


def read_image(path):
    """An image file (JPEG, PNG, BMP, GIF) as uint8 RGB [H, W, 3]."""
    data = tf.io.read_file(path)
    return tf.io.decode_image(data, channels=3, expand_animations=False).numpy()


def predict_images(artifact, image_paths, out_dir, score_threshold=0.3):
    """Predict every image with ``artifact`` and write ``out_dir/<image name>.png`` for each.

    Returns the written paths.
    """
    predictor = load_predictor(artifact)
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for path in image_paths:
        image = read_image(path)
        prediction = {key: value[0] for key, value in predictor.predict(image[None]).items()}
        target = os.path.join(out_dir, os.path.splitext(os.path.basename(path))[0] + ".png")
        save_grid(
            [lambda ax: show_prediction(ax, image, prediction, predictor.class_names, score_threshold=score_threshold)],
            target,
            columns=1,
            cell_inches=3.0,
        )
        written.append(target)
    return written


def summarize(prediction, class_names=None):
    """One line describing a single image's prediction dict."""
    if "probabilities" in prediction:
        class_id = int(prediction["classes"])
        name = class_names[class_id] if class_names else str(class_id)
        return f"{name} ({float(np.max(prediction['probabilities'])):.2f})"
    if "num_detections" in prediction:
        return f"{int(prediction['num_detections'])} detections"
    return ", ".join(sorted(prediction))
