"""The segmentation recipes: arguments, and one short run under MirroredStrategy."""

import json

import pytest

from tests.helpers import load_recipe


@pytest.mark.parametrize("name", ["unet", "fcn", "deconvnet", "sliding_window_segmenter"])
@pytest.mark.parametrize("loss", ["cross_entropy", "dice", "cross_entropy_dice"])
def test_recipes_take_each_loss(name, loss):
    args = load_recipe(name).parse_args(["--loss", loss])
    assert args.loss == loss and args.dataset == "shapes"
    with pytest.raises(SystemExit):
        load_recipe(name).parse_args(["--loss", "hinge"])


def test_fcn_recipe_names_the_variant():
    args = load_recipe("fcn").parse_args(["--variant", "16s"])
    assert args.variant == "16s"


def test_unet_recipe_trains_and_checkpoints(tmp_path):
    out = tmp_path / "run"
    load_recipe("unet").main(
        [
            "--dataset", "shapes/tiny", "--image-size", "32", "--base-filters", "2", "--loss", "cross_entropy_dice",
            "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "4", "--validation-steps", "1",
            "--out", str(out), "--verbose", "0",
        ]
    )
    history = json.loads((out / "history.json").read_text())["history"]
    assert len(history["loss"]) == 1 and "val_mean_iou" in history
    assert (out / "last.keras").exists()
