"""Nothing broken gets published: non-finite models are refused, exports get the umask's permissions,
killed exports' temporaries are cleaned, and the command line answers failures in one line."""

import os
import stat
import subprocess
import sys

import numpy as np
import pytest

import kzoo
from kzoo_cli import main
from kzoo.export import export_saved_model, export_tflite


@pytest.fixture(scope="module")
def classifier():
    return kzoo.build("classifier", num_classes=3, backbone="tiny", input_shape=(32, 32, 3))


def _diverged(model):
    weights = model.get_weights()
    weights[0] = np.full_like(weights[0], np.nan)
    broken = kzoo.build("classifier", num_classes=3, backbone="tiny", input_shape=(32, 32, 3))
    broken.set_weights(weights)
    return broken


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_model_with_nan_weights_is_never_exported(classifier, tmp_path):
    broken = _diverged(classifier)
    with pytest.raises(ValueError, match="non-finite weights"):
        export_saved_model(broken, str(tmp_path / "saved"), "clf")
    with pytest.raises(ValueError, match="non-finite weights"):
        export_tflite(broken, str(tmp_path / "clf.tflite"))
    assert not os.path.exists(tmp_path / "saved" / "clf" / "1") and not os.path.exists(tmp_path / "clf.tflite")


def test_the_command_line_refuses_a_diverged_checkpoint_in_one_line(classifier, tmp_path, capsys):
    checkpoint = str(tmp_path / "last.keras")
    _diverged(classifier).save(checkpoint)
    for command in (["export", checkpoint, "--name", "clf", "--out", str(tmp_path / "saved")],
                    ["evaluate", checkpoint, "--dataset", "fashion_scenes/single_tiny", "--limit", "2",
                     "--out", str(tmp_path / "evaluation")]):
        with pytest.raises(SystemExit) as exit_info:
            main(command)
        assert exit_info.value.code == 1
        # One error line (after a note that the checkpoint records no dataset), no traceback.
        lines = capsys.readouterr().err.strip().splitlines()
        assert lines[-1].startswith("kzoo: error:") and "non-finite weights" in lines[-1]
        assert all(line.startswith("kzoo: ") for line in lines), lines
    assert not os.path.exists(tmp_path / "saved" / "clf" / "1")


def test_exports_take_the_umask_and_clean_the_temporaries_of_killed_exports(classifier, tmp_path):
    model_dir = tmp_path / "saved" / "clf"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(gone.stdout)
    stale = model_dir / f".1.tmp-{dead}-abcd"
    (stale / "variables").mkdir(parents=True)
    live = model_dir / f".1.tmp-{os.getpid()}-efgh"  # an export still running in this process
    live.mkdir()
    stale_lite = tmp_path / f".clf.tflite.tmp-{dead}-wxyz"
    stale_lite.write_bytes(b"half a file")
    umask = 0o027  # stricter than the usual 022: group members may read, others may not
    previous = os.umask(umask)
    try:
        version = export_saved_model(classifier, str(tmp_path / "saved"), "clf")
        lite = export_tflite(classifier, str(tmp_path / "clf.tflite"))
    finally:
        os.umask(previous)
    assert _mode(version) == 0o777 & ~umask
    assert _mode(os.path.join(version, "saved_model.pb")) == 0o666 & ~umask
    assert _mode(lite) == 0o666 & ~umask
    assert not stale.exists() and not stale_lite.exists()
    assert live.exists()


def test_command_line_failures_are_one_line_and_debug_shows_the_traceback(tmp_path, capsys):
    missing = str(tmp_path / "nothing.keras")
    with pytest.raises(SystemExit) as exit_info:
        main(["export", missing, "--name", "x", "--out", str(tmp_path)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("kzoo: error:") and len(err.splitlines()) == 1 and "Traceback" not in err
    with pytest.raises(Exception) as raised:
        main(["export", missing, "--name", "x", "--out", str(tmp_path), "--debug"])
    assert not isinstance(raised.value, SystemExit)
