import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import kzoo
import kzoo.data
from kzoo_cli import build_parser, main

SUBCOMMANDS = ["models", "backbones", "datasets", "train", "evaluate", "export", "predict", "quickstart"]


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: kzoo " + command in capsys.readouterr().out


def test_models_and_datasets_are_listed(capsys):
    main(["models"])
    assert "classifier" in capsys.readouterr().out
    main(["datasets"])
    listed = capsys.readouterr().out
    for name in ("shapes", "fashion_scenes/single", "stick_figures"):
        assert name in listed


def test_datasets_show_writes_a_picture(tmp_path):
    out = tmp_path / "figures.png"
    main(["datasets", "show", "stick_figures/tiny", "--out", str(out), "--count", "4"])
    picture = tf.io.decode_png(tf.io.read_file(str(out))).numpy()
    assert picture.shape[0] > 100 and picture.shape[1] > 100
    assert picture.std() > 10, "the picture is blank"


def test_export_and_predict_from_the_command_line(tmp_path):
    model = kzoo.build("classifier", num_classes=10, backbone="tiny", input_shape=(32, 32, 3))
    checkpoint = str(tmp_path / "model.keras")
    model.save(checkpoint)
    out = str(tmp_path / "saved_models")
    main(["export", checkpoint, "--name", "garments", "--out", out])
    main(["export", checkpoint, "--name", "garments", "--format", "tflite", "--out", out])
    image_path = str(tmp_path / "garment.png")
    tf.io.write_file(image_path, tf.io.encode_png(np.full((40, 48, 3), 128, np.uint8)))
    for artifact in (os.path.join(out, "garments", "1"), os.path.join(out, "garments.tflite")):
        predictions_dir = str(tmp_path / os.path.basename(artifact))
        main(["predict", artifact, image_path, "--out", predictions_dir])
        assert os.listdir(predictions_dir) == ["garment.png"]


def test_unknown_recipe_is_a_clear_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "nonesuch"])
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.startswith("kzoo: error: no recipe 'nonesuch'")


def test_console_script_is_installed_and_quiet():
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "kzoo"), "models"],
                            capture_output=True, text=True, check=True)
    assert "classifier" in result.stdout
    # TensorFlow's C++ start-up lines (CUDA probes, absl's notice) are hidden unless --verbose.
    assert result.stderr.strip() == "", result.stderr


@pytest.mark.parametrize("argv", [["--help"]] + [[command, "--help"] for command in SUBCOMMANDS if command != "train"])
def test_help_does_not_load_tensorflow(argv):
    code = (
        "import sys\n"
        "from kzoo_cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'kzoo') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "usage: kzoo" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout


def test_recipe_help_does_not_load_tensorflow():
    from kzoo_cli.main import _recipes

    code = (
        "import sys\n"
        "from kzoo_cli import main\n"
        f"for name in {_recipes()!r}:\n"
        "    try:\n        main(['train', name, '--help'])\n    except SystemExit as done:\n"
        "        assert done.code == 0, name\n"
        "    loaded = sorted(m for m in ('tensorflow', 'keras', 'kzoo') if m in sys.modules)\n"
        "    print(name, 'loads', loaded) if loaded else None\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "loads" not in result.stdout, [line for line in result.stdout.splitlines() if "loads" in line]
    assert result.stdout.count("(default: ") > 100


def test_recipe_choices_are_the_builders_vocabularies():
    """Recipes list their choices without importing the models; these are the models' own lists."""
    import runpy

    from kzoo.models.localization import BOX_LOSSES
    from kzoo.models.segmentation import LOSSES
    from kzoo.models.segmentation.deconvnet import ENCODERS, UNPOOLINGS
    from kzoo.models.segmentation.sliding_window import PATCH_NETS
    from kzoo.models.segmentation.unet import UPSAMPLINGS
    from kzoo.models.detection.yolo import HEADS
    from kzoo_cli.main import RECIPES_DIR
    from kzoo.backbones import FREEZE_CHOICES as BACKBONE_FREEZE_CHOICES
    from kzoo_cli.recipe_args import FREEZE_CHOICES, SEGMENTATION_LOSSES

    def recipe(name):
        return runpy.run_path(os.path.join(RECIPES_DIR, f"{name}.py"))

    assert SEGMENTATION_LOSSES == LOSSES
    assert FREEZE_CHOICES == BACKBONE_FREEZE_CHOICES
    assert recipe("classify_localize")["BOX_LOSSES"] == BOX_LOSSES
    assert recipe("deconvnet")["ENCODERS"] == tuple(sorted(ENCODERS))
    assert recipe("deconvnet")["UNPOOLINGS"] == UNPOOLINGS
    assert recipe("sliding_window_segmenter")["PATCH_NETS"] == tuple(sorted(PATCH_NETS))
    assert recipe("unet")["UPSAMPLINGS"] == UPSAMPLINGS
    assert recipe("yolo")["HEADS"] == HEADS


# name, a metric the table prints, the pictures, rows of examples.png (label maps: image, truth,
# prediction; otherwise truth, prediction)
EVALUATED = [
    ("unet", "shapes/tiny", "mean_iou", ["confusion_matrix.png", "examples.png"], 3),
    ("ssd", "shapes/tiny", "AP50", ["examples.png"], 2),
    ("mask_rcnn", "shapes/tiny", "mask_AP", ["examples.png"], 2),
    # Slow: show_prediction's skeletons are checked by tests/viz/test_draw.py in the default suite.
    pytest.param("keypoint_rcnn", "stick_figures/tiny", "keypoint_AP", ["examples.png"], 2, marks=pytest.mark.slow),
]


@pytest.mark.parametrize("name,dataset,metric,pictures,rows", EVALUATED)
def test_evaluate_writes_the_table_and_pictures_of_truth_against_predictions(
    name, dataset, metric, pictures, rows, tmp_path, capsys
):
    num_classes = len(kzoo.data.info(dataset).class_names)
    model = kzoo.build(name, num_classes=num_classes, backbone="tiny", input_shape=(128, 128, 3))
    checkpoint = str(tmp_path / f"{name}.keras")
    model.save(checkpoint)
    out = tmp_path / "evaluation"
    main(["evaluate", checkpoint, "--dataset", dataset, "--limit", "3", "--out", str(out)])
    printed = capsys.readouterr().out
    assert metric in printed and "examples.png" in printed
    assert sorted(os.listdir(out)) == pictures
    picture = tf.io.decode_png(tf.io.read_file(str(out / "examples.png"))).numpy()
    # Three columns of square cells, and not blank.
    assert picture.shape[1] / picture.shape[0] == pytest.approx(3 / rows, rel=0.15)
    assert picture.std() > 10


def test_every_registered_model_trains_by_its_name_and_its_help_shows_defaults(capsys):
    for name in kzoo.list_models():
        with pytest.raises(SystemExit) as exit_info:
            main(["train", name, "--help"])
        assert exit_info.value.code == 0, name
        help_text = capsys.readouterr().out
        assert "--epochs" in help_text and "(default: " in help_text, name


def test_an_alias_help_shows_the_aliased_values_as_defaults(capsys):
    for alias, option, value in (("fcn16s", "--variant", "16s"), ("fcn32s", "--variant", "32s"),
                                 ("ssdlite", "--separable", "True")):
        with pytest.raises(SystemExit):
            main(["train", alias, "--help"])
        help_text = " ".join(capsys.readouterr().out.split())
        # The option's own help text (up to the next option) ends with the aliased value as its default.
        assert re.search(rf" {option}\b(?:(?! --).)*\(default: {value}\)", help_text), alias


def test_a_checkpoint_without_a_dataset_record_says_which_classes_it_uses(tmp_path, capsys):
    from kzoo_cli.main import _checkpoint_dataset

    model = kzoo.build("classifier", num_classes=3, backbone="tiny", input_shape=(32, 32, 3))
    checkpoint = str(tmp_path / "classifier.keras")
    model.save(checkpoint)  # saved outside kzoo's training: no record
    # What evaluate and export use: the registry's dataset, said on stderr; or the one asked for, silently.
    assert _checkpoint_dataset(model, checkpoint, None) == "fashion_scenes/single"
    assert "does not record its dataset" in capsys.readouterr().err
    assert _checkpoint_dataset(model, checkpoint, "shapes") == "shapes"
    assert capsys.readouterr().err == ""


def test_train_alone_lists_the_names(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train"])
    assert exit_info.value.code == 1  # a failure, with README's status
    assert "fcn8s" in capsys.readouterr().out.split()


@pytest.mark.slow  # about a minute on an idle machine: it trains, evaluates and exports an SSD
def test_quickstart_runs_the_whole_job_on_a_tiny_dataset(tmp_path, capsys):
    from kzoo.quickstart import run_quickstart

    result = run_quickstart(out_dir=str(tmp_path / "q"), minutes=0.05, saved_models_dir=str(tmp_path / "models"),
                            dataset="shapes/tiny", batch_size=8)
    printed = capsys.readouterr().out
    assert "1/4 train" in printed and "test AP" in printed
    assert 0.0 <= result["results"]["AP"] <= 1.0
    assert os.path.isdir(result["saved_model"]) and os.path.exists(result["tflite"])
    picture = tf.io.decode_png(tf.io.read_file(result["picture"])).numpy()
    assert picture.shape[0] > 200 and picture.std() > 10  # three rows: truth, SavedModel, TFLite


@pytest.mark.parametrize("verbose", [False, True])
def test_an_int8_export_keeps_the_quantizers_line_off_the_terminal_unless_verbose(tmp_path, capfd, verbose):
    dataset = "fashion_scenes/single_tiny"
    info = kzoo.data.info(dataset)
    model = kzoo.build("classifier", num_classes=info.num_classes, backbone="tiny", input_shape=(32, 32, 3))
    checkpoint = str(tmp_path / "model.keras")
    model.save(checkpoint)
    main((["--verbose"] if verbose else []) + ["export", checkpoint, "--name", "c", "--format", "tflite",
                                               "--quantize", "int8", "--dataset", dataset, "--out", str(tmp_path)])
    assert os.path.exists(tmp_path / "c_int8.tflite")
    assert ("fully_quantize: " in capfd.readouterr().err) == verbose
