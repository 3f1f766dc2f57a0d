"""The evaluation table and pictures."""

import numpy as np
import pytest

from kzoo.metrics import detection_report, format_table, plot_confusion_matrix, plot_pr_curves
from tests.metrics.coco_cases import random_elements

PNG = b"\x89PNG\r\n\x1a\n"


def test_format_table():
    table = format_table({"AP": 0.51234, "count": 3, "missing": float("nan"), "by class": {"cat": 0.25}}, title="bbox")
    # Names padded to the longest ("by class", 8), two spaces, values.
    assert table.splitlines() == [
        "bbox",
        "---------------",
        "metric    value",
        "--------  -----",
        "AP        0.512",
        "count     3",
        "missing   n/a",
        "by class",
        "  cat     0.250",
    ]


def test_plots_write_png(tmp_path):
    curves = {0: {"recall": np.array([0.5, 1.0]), "precision": np.array([1.0, 0.5]), "ap": 0.75},
              1: {"recall": np.zeros(0), "precision": np.zeros(0), "ap": float("nan")}}
    path = plot_pr_curves(curves, str(tmp_path / "pr.png"), class_names=["a", "b"])
    assert open(path, "rb").read(8) == PNG
    matrix = np.array([[3, 1, 0], [0, 2, 1], [1, 0, 0]])  # with a background row and column
    path = plot_confusion_matrix(matrix, str(tmp_path / "sub" / "cm.png"), ["a", "b"])
    assert open(path, "rb").read(8) == PNG
    with pytest.raises(ValueError):
        plot_confusion_matrix(np.eye(3), str(tmp_path / "x.png"), ["a"])


def test_detection_report(tmp_path):
    elements, predictions = random_elements(5, num_images=8, num_classes=3)
    report = detection_report(elements, predictions, str(tmp_path), class_names=["a", "b", "c"])
    assert [p.rsplit("/", 1)[1] for p in report["files"]] == ["pr_curves.png", "confusion_matrix.png"]
    assert report["coco"].keys() >= {"AP", "AP50", "AR100"}
    assert set(report["per_class_ap"]) == {"a", "b", "c"}
    assert report["confusion_matrix"].shape == (4, 4)
    assert "VOC mAP@0.5" in report["table"] and "AP50" in report["table"]
