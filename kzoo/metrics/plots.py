"""Evaluation pictures written to PNG: precision-recall curves and confusion matrices.

Figures are drawn with matplotlib's Agg canvas directly (no pyplot), so
this works without a display and leaves no global figure state behind.
"""

import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def _save(figure, path):
    FigureCanvasAgg(figure)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    return path


def plot_pr_curves(curves, path, class_names=None, title="Precision-recall curves"):
    """Draws one precision-recall curve per class.

    Args:
        curves: ``{class: {"recall": [n], "precision": [n], "ap": float}}``
            (``kzoo.metrics.detection.pr_curves``) or ``{class: (recall,
            precision)}``. Classes without points are left out.
        path: PNG file to write.
        class_names: names indexed by class; the class key otherwise.
        title: figure title.

    Returns:
        ``path``.
    """
    figure = Figure(figsize=(6.5, 5))
    axes = figure.add_subplot()
    for key, curve in curves.items():
        recall, precision = (curve["recall"], curve["precision"]) if isinstance(curve, dict) else curve
        if len(recall) == 0:
            continue
        name = class_names[key] if class_names is not None else str(key)
        ap = curve.get("ap") if isinstance(curve, dict) else None
        label = name if ap is None or np.isnan(ap) else f"{name} (AP {ap:.3f})"
        # Start at recall 0 on the first precision so a curve never floats.
        axes.step(np.r_[0.0, recall], np.r_[precision[0], precision], where="post", label=label)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel("recall = TP / (TP + FN)")
    axes.set_ylabel("precision = TP / (TP + FP)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=7, loc="best", ncol=2 if len(curves) > 10 else 1)
    return _save(figure, path)


def plot_confusion_matrix(matrix, path, class_names=None, normalize=True, title="Confusion matrix"):
    """Draws a confusion matrix as a heat map, the counts written in the cells.

    Args:
        matrix: [C, C], or [C + 1, C + 1] with a background row and column
            (``detection_confusion_matrix``); rows true, columns predicted.
        path: PNG file to write.
        class_names: C names; "background" is added for a (C + 1) matrix.
        normalize: colour by the fraction of each true row (counts still shown).
        title: figure title.

    Returns:
        ``path``.
    """
    matrix = np.asarray(matrix, np.float64)
    n = len(matrix)
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    if len(names) == n - 1:
        names.append("background")
    if len(names) != n:
        raise ValueError(f"{len(names)} class names for a {n}x{n} matrix")
    rows = matrix.sum(1, keepdims=True)
    colour = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0) if normalize else matrix
    size = max(4.0, 0.45 * n + 2)
    figure = Figure(figsize=(size + 1, size))
    axes = figure.add_subplot()
    image = axes.imshow(colour, cmap="Blues", vmin=0, vmax=1 if normalize else max(colour.max(), 1))
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="fraction of true row" if normalize else "count")
    axes.set_xticks(range(n), names, rotation=90 if n > 8 else 45, ha="right" if n <= 8 else "center", fontsize=8)
    axes.set_yticks(range(n), names, fontsize=8)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    if n <= 30:
        threshold = colour.max() / 2 if colour.max() > 0 else 1
        for i in range(n):
            for j in range(n):
                if matrix[i, j]:
                    text = f"{matrix[i, j]:.0f}" if float(matrix[i, j]).is_integer() else f"{matrix[i, j]:.2f}"
                    axes.text(j, i, text, ha="center", va="center", fontsize=7,
                              color="white" if colour[i, j] > threshold else "black")
    return _save(figure, path)
