"""How single-figure pose estimation is judged: PCK at 0.2 and 0.1 of the figure size, per joint."""

import numpy as np

from kzoo.metrics import pck


def evaluate(elements, predictions, info, alphas=(0.2, 0.1)):
    """PCK over a split, one figure per image.

    Args:
        elements: dataset elements (``keypoints`` [M, J, 3]; the first
            figure is the ground truth).
        predictions: one dict per element with ``keypoints`` [J, 2]
            normalized (y, x).
        info: the dataset's ``kzoo.data.DatasetInfo`` (joint names).
        alphas: PCK thresholds as fractions of the figure size
            (max side of the box around its labeled joints).

    Returns:
        dict: ``pck@<alpha>`` for each alpha, and ``pck@<alphas[0]> per
        joint`` as a nested ``{joint name: value}`` (NaN for a joint never
        labeled). Only visible joints are scored.
    """
    if not elements:
        return {f"pck@{alpha:g}": 0.0 for alpha in alphas}
    true = np.stack([np.asarray(e["keypoints"][0], np.float64) for e in elements])
    pred = np.stack([np.asarray(p["keypoints"], np.float64) for p in predictions])
    scores = {alpha: pck(pred, true, alpha=alpha) for alpha in alphas}
    results = {f"pck@{alpha:g}": scores[alpha]["pck"] for alpha in alphas}
    names = list(info.keypoint_names) or [str(j) for j in range(true.shape[1])]
    per_joint = scores[alphas[0]]["per_joint"]
    results[f"pck@{alphas[0]:g} per joint"] = {name: float(v) for name, v in zip(names, per_joint)}
    return results
