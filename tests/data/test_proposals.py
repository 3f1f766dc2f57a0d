"""Selective search proposals, their cache on disk and their lookup inside tf.data."""

import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

from kzoo.data import proposal_cache
from kzoo.data import selective_search as search_lib
from kzoo.data.proposal_cache import attach_proposals, element_proposals, split_proposals
from kzoo.data.selective_search import SearchCounter, grid_boxes, selective_search
from kzoo.metrics.localization import box_iou


def _two_rectangles():
    """A 96x128 grey image with a red and a blue rectangle, and their normalized boxes."""
    image = np.full((96, 128, 3), 200, np.uint8)
    image[10:40, 15:60] = (220, 30, 30)
    image[50:85, 70:120] = (30, 30, 220)
    boxes = np.array([[10 / 96, 15 / 128, 40 / 96, 60 / 128], [50 / 96, 70 / 128, 85 / 96, 120 / 128]])
    return image, boxes


def _check_boxes(boxes, max_proposals):
    assert boxes.dtype == np.float32 and boxes.ndim == 2 and boxes.shape[1] == 4
    assert 1 <= len(boxes) <= max_proposals
    assert np.all((boxes >= 0) & (boxes <= 1))
    assert np.all(boxes[:, 0] < boxes[:, 2]) and np.all(boxes[:, 1] < boxes[:, 3])
    assert len(np.unique(boxes, axis=0)) == len(boxes)


class _FakeSearch:
    """Stands in for OpenCV's search object: ``process`` returns ``rects(image shape)`` or raises."""

    def __init__(self, rects):
        self.rects, self.shape = rects, None

    def setBaseImage(self, image):  # noqa: N802 (OpenCV's names)
        self.shape = image.shape

    def switchToSelectiveSearchFast(self):  # noqa: N802
        pass

    def switchToSelectiveSearchQuality(self):  # noqa: N802
        pass

    def process(self):
        return self.rects(self.shape)


def _fake_opencv(monkeypatch, rects):
    monkeypatch.setattr(cv2.ximgproc.segmentation, "createSelectiveSearchSegmentation", lambda: _FakeSearch(rects))


@pytest.mark.parametrize("mode", ["fast", "quality"])
def test_selective_search_finds_two_rectangles(mode):
    image, truth = _two_rectangles()
    counter = SearchCounter()
    boxes = selective_search(image, max_proposals=200, mode=mode, counter=counter)
    _check_boxes(boxes, 200)
    assert np.all(box_iou(truth, boxes).max(axis=1) >= 0.7)
    assert counter.images == 1 and counter.fallbacks == 0
    np.testing.assert_array_equal(boxes, selective_search(image, max_proposals=200, mode=mode))  # seeded ranking


@pytest.mark.parametrize("shape", [(400, 20), (20, 400), (1, 1)])
def test_extreme_aspect_ratios_and_sizes_do_not_fail(shape):
    image = np.random.default_rng(0).integers(0, 256, shape + (3,), dtype=np.uint8)
    counter = SearchCounter()
    boxes = selective_search(image, max_proposals=50, counter=counter)
    _check_boxes(boxes, 50)
    assert counter.fallbacks == 0


def test_shrunk_and_padded_search_maps_boxes_back(monkeypatch):
    seen = []

    def rects(shape):
        seen.append(shape)
        h, w = shape[:2]
        # (x, y, w, h): the padded canvas, the same once clipped, the top
        # half, a box in the padding only, a zero-width box, a quarter
        return np.array([[0, 0, w, h], [0, 0, 40, h], [0, 0, w, 50],
                         [35, 0, 15, h], [5, 5, 0, 10], [0, 0, 15, 25]])

    _fake_opencv(monkeypatch, rects)
    counter = SearchCounter()
    boxes = selective_search(np.zeros((200, 60, 3), np.uint8), max_side=100, counter=counter)
    assert seen == [(100, 50, 3)]  # shrunk to 100x30, padded to 100x50 (aspect ratio 2)
    np.testing.assert_allclose(boxes, [[0, 0, 1, 1], [0, 0, 0.5, 1], [0, 0, 0.25, 0.5]])
    assert counter.fallbacks == 0


def test_opencv_failure_gives_the_grid_fallback_and_counts_it(monkeypatch):
    def fail(shape):
        raise cv2.error("simulated assertion failure")

    _fake_opencv(monkeypatch, fail)
    image, _ = _two_rectangles()
    counter = SearchCounter()
    boxes = selective_search(image, max_proposals=30, counter=counter)
    np.testing.assert_array_equal(boxes, grid_boxes(30))
    assert counter.images == 1 and counter.fallbacks == 1 and "simulated" in counter.last_error
    with pytest.warns(RuntimeWarning, match="grid_boxes"):
        selective_search(image, max_proposals=30)
    _check_boxes(grid_boxes(10_000), 10_000)
    np.testing.assert_array_equal(grid_boxes(10)[0], [0, 0, 1, 1])


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("KZOO_CACHE_DIR", raising=False)
    return str(tmp_path / "proposals")


def _count_calls(monkeypatch, fail_at=None):
    """Counts selective_search calls made by the cache; raises once, on call ``fail_at``."""
    calls, failed = [], []
    real = search_lib.selective_search

    def spy(*args, **kwargs):
        calls.append(1)
        if len(calls) == fail_at and not failed:
            failed.append(1)
            raise RuntimeError("simulated crash")
        return real(*args, **kwargs)

    monkeypatch.setattr(search_lib, "selective_search", spy)
    return calls


def test_cache_computes_once_and_pads(monkeypatch, cache_dir, tfds_dir, load_all):
    elements = load_all("shapes/tiny", "test")
    calls = _count_calls(monkeypatch)
    first = split_proposals("shapes/tiny", "test", max_proposals=20, cache_dir=cache_dir, data_dir=tfds_dir)
    assert len(calls) == len(elements) == len(first) == 16
    assert sorted(os.listdir(cache_dir)) == ["shapes_tiny.test.fast.p20.side500.npz"]
    second = split_proposals("shapes/tiny", "test", max_proposals=20, cache_dir=cache_dir, data_dir=tfds_dir)
    assert len(calls) == 16 and second.path == first.path
    assert first.num_fallbacks == second.num_fallbacks == 0
    np.testing.assert_array_equal(first.boxes, second.boxes)
    for index, element in enumerate(elements):
        proposals = second[element["image_id"]]
        assert proposals.shape == (20, 4) and proposals.dtype == np.float32
        count = second.counts[list(second.image_ids).index(element["image_id"])]
        real = (proposals[:, 2] - proposals[:, 0]) * (proposals[:, 3] - proposals[:, 1]) > 0
        np.testing.assert_array_equal(real, np.arange(20) < count)  # real rows first, then zero rows
        assert not proposals[count:].any()
        np.testing.assert_array_equal(element_proposals(element, second), proposals)
        if index < 4:
            np.testing.assert_array_equal(proposals[:count], selective_search(element["image"], 20))
    new_image = {"image": _two_rectangles()[0], "image_id": np.int64(-5)}
    assert element_proposals(new_image, second).shape == (20, 4)  # not cached: searched now


def test_cache_counts_fallbacks(monkeypatch, cache_dir, tfds_dir):
    def fail(shape):
        raise cv2.error("simulated assertion failure")

    _fake_opencv(monkeypatch, fail)
    cached = split_proposals("shapes/tiny", "test[:2]", max_proposals=6, cache_dir=cache_dir, data_dir=tfds_dir)
    assert cached.num_fallbacks == 2 and cached.fallback.all() and np.all(cached.counts == 6)
    for image_id in cached:
        np.testing.assert_array_equal(cached[image_id], grid_boxes(6))


def test_cache_dir_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("KZOO_CACHE_DIR", str(tmp_path))
    assert proposal_cache.default_cache_dir() == str(tmp_path / "proposals")
    monkeypatch.delenv("KZOO_CACHE_DIR")
    assert proposal_cache.default_cache_dir() == os.path.expanduser("~/.cache/kzoo/proposals")


def test_crash_leaves_no_cache_file_and_the_next_run_resumes(monkeypatch, cache_dir, tfds_dir):
    settings = dict(max_proposals=10, cache_dir=cache_dir, data_dir=tfds_dir, chunk_size=3, verbose=0)
    stem = "shapes_tiny.test_8_.fast.p10.side500"  # the slice "test[:8]", made a file name
    calls = _count_calls(monkeypatch, fail_at=5)
    with pytest.raises(RuntimeError, match="simulated crash"):
        split_proposals("shapes/tiny", "test[:8]", **settings)
    # One finished chunk of 3 images; no cache file and no temporary file.
    assert sorted(os.listdir(cache_dir)) == [f"{stem}.part00000.npz"]

    calls.clear()
    resumed = split_proposals("shapes/tiny", "test[:8]", **settings)
    assert len(calls) == 5 and len(resumed) == 8
    assert sorted(os.listdir(cache_dir)) == [f"{stem}.npz"]

    # A crash while the file is written leaves the old file and no temporary one.
    real_savez = np.savez_compressed

    def crash_mid_write(f, **arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise RuntimeError("killed while writing")

    monkeypatch.setattr(np, "savez_compressed", crash_mid_write)
    with pytest.raises(RuntimeError, match="killed while writing"):
        split_proposals("shapes/tiny", "test[:8]", **dict(settings, max_proposals=12))
    assert sorted(os.listdir(cache_dir)) == [f"{stem}.npz"]
    monkeypatch.setattr(np, "savez_compressed", real_savez)
    calls.clear()
    assert len(split_proposals("shapes/tiny", "test[:8]", **settings)) == 8 and not calls


def test_attach_proposals_gives_each_element_its_own(cache_dir, tfds_dir):
    import kzoo.data

    cached = split_proposals("shapes/tiny", "test", max_proposals=8, cache_dir=cache_dir, data_dir=tfds_dir,
                             verbose=0)
    ds = kzoo.data.load("shapes/tiny", "test", data_dir=tfds_dir)
    attached = attach_proposals(ds, cached, 8)
    assert attached.element_spec["proposals"].shape == (8, 4)
    elements = list(attached.as_numpy_iterator())
    assert len(elements) == 16
    for element in elements:
        np.testing.assert_array_equal(element["proposals"], cached[element["image_id"]])

    # A plain dict of shorter arrays is padded; an unknown image_id stops the pipeline.
    by_id = {int(e["image_id"]): cached[e["image_id"]][:3] for e in elements[:5]}
    short = list(attach_proposals(ds.take(5), by_id, 8).as_numpy_iterator())
    for element in short:
        np.testing.assert_array_equal(element["proposals"][:3], by_id[int(element["image_id"])])
        assert not element["proposals"][3:].any()
    with pytest.raises(tf.errors.InvalidArgumentError, match="without proposals"):
        list(attach_proposals(ds.skip(5).take(1), by_id, 8).as_numpy_iterator())
