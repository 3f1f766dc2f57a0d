"""Fashion-MNIST from local IDX files (the garments of ``fashion_scenes``).

The files are read where Keras caches them
(``keras.datasets.fashion_mnist.load_data()`` writes
``$KERAS_HOME/datasets/fashion-mnist/``, by default under ``~/.keras``) or
where Debian's ``dataset-fashion-mnist`` package installs them
(``/usr/share/datasets/fashion-mnist/``). ``KZOO_FASHION_MNIST_DIR`` names
another folder. Debian re-compressed the files, so their checksums differ from
the originals; this module parses the IDX format itself instead of going
through a checksummed download. Plain and gzipped files both work.
"""

import functools
import gzip
import os

import numpy as np

CLASS_NAMES = (
    "t-shirt/top", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
)
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def search_dirs():
    """Folders searched for the IDX files, in order."""
    dirs = []
    if os.environ.get("KZOO_FASHION_MNIST_DIR"):
        dirs.append(os.environ["KZOO_FASHION_MNIST_DIR"])
    keras_home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    dirs += [
        os.path.join(keras_home, "datasets", "fashion-mnist"),
        os.path.join("/tmp", ".keras", "datasets", "fashion-mnist"),  # Keras's fallback
        "/usr/share/datasets/fashion-mnist",
    ]
    return dirs


def read_idx(path):
    """Parse one IDX file (optionally gzipped) into a NumPy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file")
    dtype, rank = np.dtype(_IDX_DTYPES[data[2]]), data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank))
    offset = 4 + 4 * rank
    count = int(np.prod(shape))
    if len(data) != offset + count * dtype.itemsize:
        raise ValueError(f"{path}: expected {count} values of shape {shape}, file is truncated or padded")
    return np.frombuffer(data, dtype, count, offset).reshape(shape)


def _find(stem, dirs):
    for folder in dirs:
        for name in (stem + ".gz", stem):
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                return path
    return None


def find_files(split, dirs=None):
    """Paths of the (images, labels) IDX files of ``split`` ("train" or "test").

    Raises:
        FileNotFoundError: naming the folders searched and how to get the files.
    """
    dirs = search_dirs() if dirs is None else dirs
    paths = [_find(stem, dirs) for stem in FILES[split]]
    if None in paths:
        missing = [stem for stem, p in zip(FILES[split], paths) if p is None]
        raise FileNotFoundError(
            f"Fashion-MNIST files {missing} (or their .gz) were not found in any of "
            f"{dirs}. Get them with `sudo apt-get install dataset-fashion-mnist` "
            "(Debian/Ubuntu, installs /usr/share/datasets/fashion-mnist), or run "
            "`python -c 'import keras; keras.datasets.fashion_mnist.load_data()'` on "
            "a machine with internet access and copy ~/.keras/datasets/fashion-mnist/, "
            "or point KZOO_FASHION_MNIST_DIR at a folder holding them."
        )
    return paths


@functools.lru_cache(maxsize=4)
def _load(split, dirs):
    images_path, labels_path = find_files(split, list(dirs))
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
        raise ValueError(f"Unexpected Fashion-MNIST shapes {images.shape}, {labels.shape}")
    return images, labels.astype(np.int64)


def load(split):
    """Fashion-MNIST ``split`` ("train" or "test") as (uint8 [N, 28, 28], int64 [N])."""
    return _load(split, tuple(search_dirs()))
