"""Bad command lines: each is refused with a one-line answer and a non-zero status, never a traceback."""

import zipfile

import h5py
import pytest

import kzoo
from kzoo_cli import main

BAD = {
    "unknown model to train": ["train", "nonesuch"],
    "zero epochs": ["train", "classifier", "--epochs", "0"],
    "negative image size": ["train", "classifier", "--image-size", "-5"],
    "zero image size": ["train", "classifier", "--image-size", "0"],
    "words for a number": ["train", "classifier", "--batch-size", "eight"],
    "negative learning rate": ["train", "classifier", "--learning-rate", "-1"],
    "zoom beyond the image": ["train", "classifier", "--zoom-in", "1.5"],
    "missing checkpoint to evaluate": ["evaluate", "{tmp}/missing.keras"],
    "negative evaluation limit": ["evaluate", "{checkpoint}", "--limit", "-1"],
    "unknown dataset": ["evaluate", "{checkpoint}", "--dataset", "no_such_data", "--out", "{tmp}/e"],
    "missing checkpoint to export": ["export", "{tmp}/missing.keras", "--name", "x", "--out", "{tmp}"],
    "int8 with the SavedModel format": ["export", "{checkpoint}", "--name", "x", "--quantize", "int8", "--out", "{tmp}"],
    "version zero": ["export", "{checkpoint}", "--name", "x", "--version", "0", "--out", "{tmp}"],
    "missing artifact to predict": ["predict", "{tmp}/nothing", "{tmp}/image.png"],
    "not a checkpoint": ["evaluate", "{tmp}/not_a_model.keras"],
    "an empty zip as checkpoint": ["export", "{tmp}/empty.keras", "--name", "x", "--out", "{tmp}"],
    "weights file renamed .keras": ["evaluate", "{tmp}/weights_only.keras"],
    "unknown meta-architecture": ["tradeoffs", "--models", "nope", "--out", "{tmp}/t.csv"],
    "zero image size for the grid": ["tradeoffs", "--sizes", "0"],
    "unknown subcommand": ["frobnicate"],
}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "classifier.keras"
    kzoo.build("classifier", num_classes=3, backbone="tiny", input_shape=(32, 32, 3)).save(path)
    return str(path)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_command_lines_get_a_one_line_refusal(case, checkpoint, tmp_path, capsys):
    (tmp_path / "not_a_model.keras").write_bytes(b"this is not a zip file")
    zipfile.ZipFile(tmp_path / "empty.keras", "w").close()
    with h5py.File(tmp_path / "weights_only.keras", "w") as handle:
        handle.create_dataset("kernel", data=[1.0, 2.0])
    argv = [arg.format(tmp=tmp_path, checkpoint=checkpoint) for arg in BAD[case]]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code not in (0, None), case
    err = capsys.readouterr().err
    assert "Traceback" not in err, case
    last = err.strip().splitlines()[-1] if err.strip() else str(exit_info.value.code)
    assert last.startswith(("kzoo: error:", "usage:")) or "error:" in last or "no recipe" in last, (case, err)
    assert not (tmp_path / "x").exists(), case  # nothing was exported
