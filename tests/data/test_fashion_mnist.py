"""Reading Fashion-MNIST IDX files, and the error when they are missing."""

import gzip
import os

import numpy as np
import pytest

import kzoo.data
from kzoo.data import fashion_mnist


def _idx_bytes(array, type_code=0x08):
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def _write_fake_files(folder, count=5, compress=True):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, count, dtype=np.uint8)
    for split in ("train", "test"):
        for stem, array in zip(fashion_mnist.FILES[split], (images, labels)):
            data = _idx_bytes(array)
            if compress:
                with gzip.open(os.path.join(folder, stem + ".gz"), "wb") as f:
                    f.write(data)
            else:
                with open(os.path.join(folder, stem), "wb") as f:
                    f.write(data)
    return images, labels


def test_read_idx_plain_gzip_and_big_endian(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a").write_bytes(_idx_bytes(array))
    with gzip.open(tmp_path / "a.gz", "wb") as f:
        f.write(_idx_bytes(array))
    np.testing.assert_array_equal(fashion_mnist.read_idx(str(tmp_path / "a")), array)
    np.testing.assert_array_equal(fashion_mnist.read_idx(str(tmp_path / "a.gz")), array)
    ints = np.array([1, -2, 70000], ">i4")
    (tmp_path / "b").write_bytes(_idx_bytes(ints, 0x0C))
    assert fashion_mnist.read_idx(str(tmp_path / "b")).tolist() == [1, -2, 70000]


def test_read_idx_rejects_truncated_and_foreign_files(tmp_path):
    data = _idx_bytes(np.zeros((2, 28, 28), np.uint8))
    (tmp_path / "short").write_bytes(data[:-1])
    with pytest.raises(ValueError, match="truncated"):
        fashion_mnist.read_idx(str(tmp_path / "short"))
    (tmp_path / "png").write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ValueError, match="not an IDX file"):
        fashion_mnist.read_idx(str(tmp_path / "png"))


@pytest.mark.parametrize("compress", [True, False])
def test_environment_folder_is_searched_first(tmp_path, monkeypatch, compress):
    images, labels = _write_fake_files(tmp_path, compress=compress)
    monkeypatch.setenv("KZOO_FASHION_MNIST_DIR", str(tmp_path))
    assert fashion_mnist.search_dirs()[0] == str(tmp_path)
    loaded_images, loaded_labels = fashion_mnist.load("test")
    np.testing.assert_array_equal(loaded_images, images)
    np.testing.assert_array_equal(loaded_labels, labels)
    assert loaded_labels.dtype == np.int64


def test_keras_cache_and_debian_folders_are_searched(monkeypatch, tmp_path):
    monkeypatch.delenv("KZOO_FASHION_MNIST_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    dirs = fashion_mnist.search_dirs()
    assert dirs[0] == str(tmp_path / "keras" / "datasets" / "fashion-mnist")
    assert dirs[-1] == "/usr/share/datasets/fashion-mnist"


def test_missing_files_stop_with_instructions(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(fashion_mnist, "search_dirs", lambda: [str(empty)])
    with pytest.raises(FileNotFoundError) as error:
        fashion_mnist.load("train")
    message = str(error.value)
    assert str(empty) in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "keras.datasets.fashion_mnist.load_data()" in message
    # Through the front door too, and nothing half-made is left behind.
    data_dir = tmp_path / "tfds"
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        kzoo.data.load("fashion_scenes/single_tiny", data_dir=str(data_dir))
    assert not list(data_dir.glob("fashion_scenes/single_tiny/1.0.0*"))
