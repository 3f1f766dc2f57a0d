"""Fixtures of the data tests: one temporary TFDS folder for the whole session."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

import kzoo.data

tfds.disable_progress_bar()


@pytest.fixture(scope="session")
def tfds_dir(tmp_path_factory):
    """A fresh TFDS data folder, so tests never read or fill ~/tensorflow_datasets."""
    return str(tmp_path_factory.mktemp("tfds"))


@pytest.fixture(scope="session")
def load_all(tfds_dir):
    """``load_all(name, split)``: every element of a split as NumPy dicts (cached)."""
    cache = {}

    def load(name, split):
        if (name, split) not in cache:
            dataset = kzoo.data.load(name, split, data_dir=tfds_dir)
            cache[name, split] = [
                {k: np.asarray(v) for k, v in e.items()} for e in dataset.as_numpy_iterator()
            ]
        return cache[name, split]

    return load
