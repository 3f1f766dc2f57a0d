"""The proposal cache of a dataset folder is keyed by the folder's real path and a fingerprint of its files."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from kzoo.data import proposal_cache
from kzoo.data import selective_search as search_lib
from kzoo.data.proposal_cache import split_proposals
from tests.data.test_user_data import write_coco_folder


@pytest.fixture
def searches(monkeypatch):
    """Replaces selective search: one box whose ymax is the image's mean brightness / 255; lists the calls."""
    calls = []

    def search(image, max_proposals, mode="fast", max_side=500, counter=None):
        calls.append(1)
        return np.array([[0.0, 0.0, float(np.mean(image)) / 255, 1.0]], np.float32)

    monkeypatch.setattr(search_lib, "selective_search", search)
    return calls


def _proposals(folder, cache_dir):
    return split_proposals(folder, "validation", max_proposals=4, cache_dir=cache_dir, verbose=0)


def _first_row(proposals):
    return proposals[proposals.image_ids[0]][0]


def test_another_folder_of_the_same_name_gets_its_own_proposals(tmp_path, searches):
    cache = str(tmp_path / "cache")
    first = write_coco_folder(tmp_path / "a" / "my_data", seed=1)
    second = write_coco_folder(tmp_path / "b" / "my_data", seed=2)
    one, two = _proposals(first, cache), _proposals(second, cache)
    assert len(searches) == 12 and one.path != two.path
    assert os.path.basename(one.path).startswith("my_data-")
    assert not np.array_equal(one.boxes, two.boxes)
    assert one.settings["dataset"] == os.path.realpath(first)
    assert one.settings["source"]["path"] == os.path.realpath(os.path.join(first, "val.json"))
    # The same folder by another spelling (relative, through a link) reuses its file.
    os.symlink(first, tmp_path / "link")
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path / "a")
        again = _proposals("my_data", cache)
    finally:
        os.chdir(cwd)
    linked = _proposals(str(tmp_path / "link"), cache)
    assert len(searches) == 12 and again.path == linked.path == one.path
    np.testing.assert_array_equal(linked.boxes, one.boxes)


def test_data_edited_in_place_is_searched_again(tmp_path, searches):
    cache = str(tmp_path / "cache")
    folder = write_coco_folder(tmp_path / "my_data")
    before = _proposals(folder, cache)
    assert len(searches) == 6 and len(os.listdir(cache)) == 1
    image_path = os.path.join(folder, "images", "val", "200.png")
    tf.io.write_file(image_path, tf.io.encode_png(np.full((40, 56, 3), 255, np.uint8)))
    os.utime(image_path, ns=(10**18, 10**18))  # a new modification time even on a coarse clock
    after = _proposals(folder, cache)
    assert len(searches) == 12 and after.path == before.path
    np.testing.assert_allclose(_first_row(after), [0, 0, 1, 1])  # the new white image's, not the old one's
    assert not np.array_equal(_first_row(before), _first_row(after))
    assert len(_proposals(folder, cache)) == 6 and len(searches) == 12  # unchanged data: read back
    # An edit of the json alone (here a new image id) is seen too.
    path = os.path.join(folder, "val.json")
    data = json.load(open(path))
    data["images"][0]["id"] = 250
    for annotation in data["annotations"]:
        annotation["image_id"] = 250 if annotation["image_id"] == 200 else annotation["image_id"]
    json.dump(data, open(path, "w"))
    edited = _proposals(folder, cache)
    assert len(searches) == 18 and 250 in edited and 200 not in edited


def test_the_fingerprint_follows_sizes_and_times_not_reads(tmp_path):
    folder = write_coco_folder(tmp_path / "d", splits=("train", "val"))
    key = proposal_cache._data_key(folder, "validation")
    assert key == proposal_cache._data_key(folder, "validation")
    assert key["source"] != proposal_cache._data_key(folder, "train")["source"]
    os.utime(os.path.join(folder, "images", "val", "203.png"), ns=(1, 1))
    assert proposal_cache._data_key(folder, "validation") != key
    assert proposal_cache._data_key("shapes/tiny", "test") == {"dataset": "shapes/tiny"}
