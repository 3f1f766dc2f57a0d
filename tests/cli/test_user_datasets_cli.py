"""A user's own data from the command line: train, evaluate and export follow the checkpoint's dataset."""

import json
import os

import pytest

from kzoo.data.checkpoint_record import read_record
from kzoo_cli import main
from tests.data.test_user_data import write_class_folders, write_coco_folder


def _run(argv):
    try:
        main(argv)
    except SystemExit as exit_info:
        assert exit_info.code in (0, None), argv


def test_a_detector_trains_on_a_coco_folder_and_keeps_its_classes(tmp_path, capsys):
    folder = write_coco_folder(tmp_path / "digits", count=8)
    out = tmp_path / "run"
    _run(["train", "retinanet", "--dataset", folder, "--epochs", "1", "--image-size", "64", "--batch-size", "4",
          "--verbose", "0", "--out", str(out)])
    record = read_record(str(out / "best.keras"))
    assert record == {"dataset": os.path.abspath(folder), "class_names": ["one", "seven"]}
    # Evaluation reads the checkpoint's own dataset without --dataset.
    _run(["evaluate", str(out / "best.keras"), "--out", str(tmp_path / "evaluation")])
    assert "AP50" in capsys.readouterr().out
    # Exports carry its class names, not the registry's dataset's.
    _run(["export", str(out / "best.keras"), "--name", "digits", "--out", str(tmp_path / "models")])
    labels = json.load(open(tmp_path / "models" / "digits" / "1" / "assets.extra" / "labels.json"))
    assert labels["class_names"] == ["one", "seven"]
    # A dataset with other classes is refused in one line.
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", str(out / "best.keras"), "--dataset", "shapes/tiny", "--out", str(tmp_path / "e2")])
    assert exit_info.value.code == 1
    assert "learned the 2 classes of" in capsys.readouterr().err


@pytest.mark.slow  # tests/data/test_user_data.py reads class folders in the default suite
def test_a_classifier_trains_on_class_folders(tmp_path, capsys):
    folder = write_class_folders(tmp_path / "pets", splits=("train", "validation", "test"), count=4)
    out = tmp_path / "run"
    _run(["train", "classifier", "--dataset", folder, "--epochs", "1", "--image-size", "32", "--batch-size", "4",
          "--verbose", "0", "--out", str(out)])
    assert read_record(str(out / "last.keras"))["class_names"] == ["cat", "dog"]
    _run(["evaluate", str(out / "last.keras"), "--out", str(tmp_path / "evaluation")])
    assert "accuracy" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["voc/2007"])
def test_a_detector_trains_on_a_tfds_name_and_keeps_its_classes(name, tmp_path, capsys):
    """TFDS names go through the same commands; TFDS's mock_data stands in for the prepared dataset.

    (Its random examples give each field of ``objects`` a length of its own, so a fixed example serves.)
    """
    import tensorflow as tf
    import tensorflow_datasets as tfds

    from kzoo.data import tfds_names
    from tests.data.test_tfds_names import VOC_EXAMPLE

    def as_dataset(self, *args, **kwargs):
        def numbered(i):  # image ids come from the file names and must differ
            return {**VOC_EXAMPLE, "image/filename": tf.strings.join(["2008_00000", tf.strings.as_string(i), ".jpg"])}

        return tf.data.Dataset.range(4).map(numbered)

    out = tmp_path / "run"
    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        _run(["train", "ssd", "--dataset", name, "--epochs", "1", "--steps-per-epoch", "1", "--validation-steps", "1",
              "--image-size", "64", "--batch-size", "2", "--verbose", "0", "--out", str(out)])
        _run(["evaluate", str(out / "last.keras"), "--limit", "2", "--out", str(tmp_path / "evaluation")])
        _run(["export", str(out / "last.keras"), "--name", "voc", "--out", str(tmp_path / "models")])
    assert read_record(str(out / "last.keras")) == {"dataset": name, "class_names": list(tfds_names.class_names(name))}
    assert "AP50" in capsys.readouterr().out
    labels = json.load(open(tmp_path / "models" / "voc" / "1" / "assets.extra" / "labels.json"))
    assert labels["class_names"] == list(tfds_names.class_names(name)) and len(labels["class_names"]) == 20
