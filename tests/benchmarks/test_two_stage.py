"""The region-based benchmark's three subcommands, each on a few tiny inputs."""

import json
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "benchmarks"))

import kzoo  # noqa: E402
import two_stage  # noqa: E402
from kzoo.models.registry import get_spec  # noqa: E402


def test_recall_compares_selective_search_with_a_checkpoints_rpn(tmp_path):
    model = kzoo.build(
        "faster_rcnn", num_classes=5, backbone="tiny", input_shape=(128, 128, 3), **get_spec("faster_rcnn").small_config
    )
    path = str(tmp_path / "faster_rcnn.keras")
    model.save(path)
    result = two_stage.run_recall(
        path, "shapes/tiny", "test", limit=3, counts=(10, 40), cache_dir=str(tmp_path / "cache"), verbose=0
    )
    assert result["num_images"] == 3 and result["num_ground_truth"] > 0
    assert [row["method"] for row in result["rows"]] == ["selective search", "RPN"]
    for row in result["rows"]:
        assert 0 < row["proposals_per_image"] <= 40
        for key in ("AR50@10", "AR@10", "AR50@40", "AR@40"):
            assert 0.0 <= row[key] <= 1.0
        assert row["AR@10"] <= row["AR@40"] and row["AR@40"] <= row["AR50@40"]
    table = two_stage.format_recall(result)
    assert "selective search" in table and "RPN" in table and "AR@40" in table


def test_rpn_proposal_model_keeps_the_largest_count_asked_for():
    model = kzoo.build(
        "faster_rcnn", num_classes=5, backbone="tiny", input_shape=(128, 128, 3), **get_spec("faster_rcnn").small_config
    )
    rpn = two_stage.rpn_proposal_model(model, 250)  # more than the small configuration's pre_nms_top_k of 200
    proposals = np.asarray(rpn(np.random.default_rng(0).uniform(0, 255, (2, 128, 128, 3)).astype(np.float32)))
    assert proposals.shape == (2, 250, 4)
    layer = rpn.get_layer("recall_proposals")
    assert layer.post_nms_top_k == 250 and layer.pre_nms_top_k >= 250
    assert layer.iou_threshold == model.get_layer("proposals").iou_threshold


def test_speed_times_search_and_network_apart_and_skips_unknown_models():
    notes = []
    proposals = 16
    result = two_stage.run_speed(
        ["fast_rcnn", "not_a_model", "faster_rcnn"], num_images=2, repeats=2, num_proposals=proposals,
        dataset="shapes/tiny", warmup=1, log=notes.append,
        configs={
            "fast_rcnn": dict(num_proposals=proposals, roi_heads={"representation_size": 32}),
            "faster_rcnn": dict(
                fpn_channels=16, rpn={"num_channels": 16, "pre_nms_top_k": 64, "post_nms_top_k": proposals},
                roi_heads={"representation_size": 32},
            ),
        },
    )
    assert result["skipped"] == ["not_a_model"] and "not_a_model" in notes[0]
    rows = {row["model"]: row for row in result["rows"]}
    assert list(rows) == ["fast_rcnn", "faster_rcnn"]
    assert rows["fast_rcnn"]["proposals"] == "selective search" and rows["fast_rcnn"]["search_s"] > 0
    assert rows["faster_rcnn"]["proposals"] == "RPN" and rows["faster_rcnn"]["search_s"] == 0
    for row in rows.values():
        assert row["network_s"] > 0
        assert row["total_s"] == pytest.approx(row["search_s"] + row["network_s"])
    assert rows["faster_rcnn"]["vs_faster_rcnn"] == pytest.approx(1.0)
    table = two_stage.format_speed(result)
    assert "fast_rcnn" in table and "not_a_model" in table
    json.dumps(result)


@pytest.mark.slow
def test_step_times_the_one_pass_and_two_pass_steps():
    result = two_stage.run_step(
        batch_size=2, repeats=2, warmup=1, dataset="shapes/tiny",
        model_kwargs=dict(backbone="tiny", **get_spec("faster_rcnn").small_config),
        training=dict(rpn_pre_nms_top_k=100, rpn_post_nms_top_k=32, rpn_num_samples=32, roi_num_samples=16),
    )
    rows = {row["step"]: row for row in result["rows"]}
    assert set(rows) == {
        "one-pass (train_on_batch)", "one-pass", "two-pass (backbone twice)", "inference forward alone",
    }
    assert all(row["ms"] > 0 for row in rows.values())
    assert rows["one-pass"]["vs_one_pass"] == pytest.approx(1.0)
    assert "two-pass" in two_stage.format_step(result)


def test_help_lists_the_three_subcommands(capsys):
    with pytest.raises(SystemExit):
        two_stage.main(["--help"])
    out = capsys.readouterr().out
    assert "recall" in out and "speed" in out and "step" in out
