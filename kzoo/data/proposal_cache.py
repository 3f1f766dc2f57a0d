"""Selective search proposals of a whole dataset split, computed once and cached on disk.

R-CNN and Fast R-CNN read their proposals from outside the network
(docs/design.md, "External proposals"). ``split_proposals(dataset, split,
max_proposals)`` runs ``selective_search`` over a split once, with a
progress bar, and keeps the result in one ``.npz`` file per (dataset,
split, mode, max_proposals, max_side); later calls only read it.
``attach_proposals`` adds each element's proposals to a ``tf.data``
pipeline, and ``element_proposals`` looks up one element on the host.

Padding. Every image gets exactly ``max_proposals`` rows: its proposals,
best first, then all-zero boxes. A row is a real proposal exactly when its
area is positive (``selective_search`` never returns an empty box), which
is the convention of ``kzoo.ops.proposals.proposal_mask``; ``counts``
holds the number of real rows too.

Files. The cache folder is the ``cache_dir`` argument, else
``$KZOO_CACHE_DIR/proposals``, else ``~/.cache/kzoo/proposals``. Every
file is written to a temporary name in the same folder and moved into
place with ``os.replace``, so a reader sees a whole file or none. Every
``chunk_size`` images, the new ones go to a chunk file
``NAME.partNNNNN.npz`` (written the same way); a run that was killed
resumes after its last chunk, and the chunks are deleted once the
finished file is in place. A file whose settings differ or
that cannot be read is recomputed.

Keys. A built-in or TFDS dataset is keyed by its name. A dataset folder is
keyed by its resolved absolute path (which also names the file, so two
folders called ``my_data`` keep two files), and its file holds a
fingerprint of the split's json bytes and of its image files' sizes and
modification times (``kzoo.data.user_data.fingerprint``): editing the json
or an image in place makes the next call recompute, never reuse.
"""

import collections.abc
import glob
import hashlib
import json
import os
import re
import zipfile

import keras
import numpy as np
import tensorflow as tf

import kzoo.data
from kzoo.data import selective_search as search_lib
from kzoo.data import user_data

FORMAT_VERSION = 1


class SplitProposals(collections.abc.Mapping):
    """Cached proposals of one split: a mapping image_id -> float32 [max_proposals, 4].

    Attributes:
        image_ids: int64 [N], in the dataset's order.
        boxes: float32 [N, max_proposals, 4], zero rows after each image's proposals.
        counts: int32 [N], real proposals per image.
        fallback: bool [N], images that got ``grid_boxes`` (selective search failed).
        num_fallbacks: how many images fell back.
        settings: dict of the dataset, split, mode, max_proposals and max_side.
        path: the cache file.
    """

    def __init__(self, image_ids, boxes, counts, fallback, settings, path):
        self.image_ids, self.boxes, self.counts, self.fallback = image_ids, boxes, counts, fallback
        self.settings, self.path = settings, path
        self._rows = {int(image_id): row for row, image_id in enumerate(image_ids)}

    @property
    def num_fallbacks(self):
        return int(self.fallback.sum())

    def __getitem__(self, image_id):
        return self.boxes[self._rows[int(image_id)]]

    def __iter__(self):
        return iter(self._rows)

    def __len__(self):
        return len(self._rows)


def default_cache_dir():
    """``$KZOO_CACHE_DIR/proposals``, or ``~/.cache/kzoo/proposals`` without it."""
    root = os.environ.get("KZOO_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "kzoo")
    return os.path.join(root, "proposals")


def pad_proposals(boxes, max_proposals):
    """[P, 4] boxes -> (float32 [max_proposals, 4] padded with zero rows, number of real rows)."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)[:max_proposals]
    padded = np.zeros((max_proposals, 4), np.float32)
    padded[: len(boxes)] = boxes
    return padded, len(boxes)


def split_proposals(
    dataset, split, max_proposals=2000, mode="fast", max_side=500, cache_dir=None,
    data_dir=None, chunk_size=500, verbose=1,
):
    """Selective search proposals of every image of a split, read from the cache or computed once.

    Args:
        dataset: a name ``kzoo.data.load`` accepts (``"shapes"``, ``"voc/2007"``).
        split: its split, TFDS slices included (each slice is cached on its own).
        max_proposals, mode, max_side: ``selective_search``'s settings.
        cache_dir: the cache folder; None for ``default_cache_dir()``.
        data_dir: TFDS data folder for ``kzoo.data.load``.
        chunk_size: save progress every this many images (a killed run resumes there).
        verbose: 1 shows a ``keras.utils.Progbar`` while computing, 0 nothing.

    Returns:
        ``SplitProposals``: image_id -> float32 [max_proposals, 4], plus
        ``counts``, ``fallback`` and ``num_fallbacks``.
    """
    if mode not in search_lib.MODES or max_proposals < 1:
        raise ValueError(f"Need a mode in {search_lib.MODES} and max_proposals >= 1, got {mode!r}, {max_proposals}.")
    settings = dict(**_data_key(dataset, split), split=split, mode=mode, max_proposals=int(max_proposals),
                    max_side=max_side, version=FORMAT_VERSION)
    folder = cache_dir or default_cache_dir()
    os.makedirs(folder, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{_file_stem(settings)}.{split}.{mode}.p{max_proposals}.side{max_side}")
    path = os.path.join(folder, name + ".npz")
    arrays = _read(path, settings)
    if arrays is None:
        arrays = _compute(settings, os.path.join(folder, name), data_dir, chunk_size, verbose)
        _write(path, arrays, settings)
        for part in glob.glob(glob.escape(os.path.join(folder, name)) + ".part*.npz"):
            os.remove(part)
    return SplitProposals(arrays["image_ids"], arrays["boxes"], arrays["counts"], arrays["fallback"],
                          settings, path)


def _data_key(dataset, split):
    """The settings that tie a cache file to its data.

    A built-in or TFDS name is its own key. A dataset folder (``kzoo.data.user_data``)
    is keyed by its resolved absolute path, and the file records the split json's
    resolved path and ``user_data.fingerprint`` (the json's bytes, every image's
    size and modification time): another folder of the same name, or data edited
    in place, never reuses stale proposals.
    """
    if not user_data.is_user_dataset(dataset):
        return {"dataset": dataset}
    return {"dataset": os.path.realpath(dataset), "source": user_data.fingerprint(dataset, split)}


def _file_stem(settings):
    """A dataset's part of the cache file name: the name, or a folder's base name and a hash of its path."""
    if "source" not in settings:
        return settings["dataset"]
    folder = settings["dataset"]
    return f"{os.path.basename(folder)}-{hashlib.sha256(folder.encode()).hexdigest()[:12]}"


def _compute(settings, stem, data_dir, chunk_size, verbose):
    """Runs selective search over the split, in chunks saved as ``STEM.partNNNNN.npz``.

    Chunks left by an interrupted run (consecutive, same settings) are read
    back and their images skipped.
    """
    max_proposals = settings["max_proposals"]
    parts = []
    while (part := _read(f"{stem}.part{len(parts):05d}.npz", settings)) is not None:
        parts.append(part)
    done = {int(i) for part in parts for i in part["image_ids"]}
    ds = kzoo.data.load(settings["dataset"], split=settings["split"], data_dir=data_dir)
    ds = ds.map(lambda e: {"image": e["image"], "image_id": e["image_id"]})
    total = int(ds.cardinality())
    progress = keras.utils.Progbar(total if total >= 0 else None, verbose=verbose, unit_name="image",
                                   stateful_metrics=["fallbacks"])
    fallbacks = sum(int(part["fallback"].sum()) for part in parts)
    # Fallbacks show once there is one (Progbar would print a zero as 0.0000e+00).
    progress.update(len(done), values=[("fallbacks", fallbacks)] if fallbacks else None)
    counter, pending, seen = search_lib.SearchCounter(), [], set()
    for element in ds.as_numpy_iterator():
        image_id = int(element["image_id"])
        if image_id in seen:
            raise ValueError(f"image_id {image_id} occurs twice in {settings['dataset']} {settings['split']}.")
        seen.add(image_id)
        if image_id in done:
            continue
        before = counter.fallbacks
        boxes = search_lib.selective_search(
            element["image"], max_proposals, settings["mode"], settings["max_side"], counter=counter
        )
        padded, count = pad_proposals(boxes, max_proposals)
        pending.append((image_id, padded, count, counter.fallbacks > before))
        fallbacks += counter.fallbacks - before
        progress.add(1, values=[("fallbacks", fallbacks)] if fallbacks else None)
        if len(pending) >= chunk_size:
            parts.append(_stack(pending, max_proposals))
            _write(f"{stem}.part{len(parts) - 1:05d}.npz", parts[-1], settings)
            pending = []
    parts.append(_stack(pending, max_proposals))
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


def _stack(rows, max_proposals):
    """(image_id, boxes, count, fallback) tuples -> the arrays of a cache file."""
    image_ids, boxes, counts, fallback = zip(*rows) if rows else ((), (), (), ())
    return {
        "image_ids": np.asarray(image_ids, np.int64),
        "boxes": np.asarray(boxes, np.float32).reshape(-1, max_proposals, 4),
        "counts": np.asarray(counts, np.int32),
        "fallback": np.asarray(fallback, bool),
    }


def _write(path, arrays, settings):
    """Writes an .npz next to ``path`` and moves it into place: readers never see half a file."""
    directory, name = os.path.split(path)
    staging = os.path.join(directory, f".{name}.tmp-{os.getpid()}")
    try:
        with open(staging, "wb") as f:
            np.savez_compressed(f, settings=np.asarray(json.dumps(settings, sort_keys=True)), **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(staging, path)
    finally:
        if os.path.exists(staging):
            os.remove(staging)


def _read(path, settings):
    """The arrays of a cache file made with ``settings``, or None (missing, other settings, unreadable)."""
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            if json.loads(str(f["settings"])) != json.loads(json.dumps(settings, sort_keys=True)):
                return None
            return {key: f[key] for key in ("image_ids", "boxes", "counts", "fallback")}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def element_proposals(element, proposals):
    """The proposals of one dataset element, from a ``SplitProposals``.

    Args:
        element: a dict with ``image`` uint8 [H, W, 3] and ``image_id``.
        proposals: the ``SplitProposals`` of the element's split.

    Returns:
        float32 [max_proposals, 4], zero rows after the real ones. An image
        whose id is not in the cache (a new image) is searched now, with the
        cache's settings.
    """
    image_id = int(np.asarray(element["image_id"]))
    if image_id in proposals:
        return proposals[image_id]
    settings = proposals.settings
    boxes = search_lib.selective_search(
        np.asarray(element["image"]), settings["max_proposals"], settings["mode"], settings["max_side"]
    )
    return pad_proposals(boxes, settings["max_proposals"])[0]


def attach_proposals(ds, proposals_by_id, max_proposals):
    """Adds ``proposals`` float32 [max_proposals, 4] to every element of a ``tf.data`` dataset.

    The lookup runs inside ``tf.data``: a ``tf.lookup.StaticHashTable``
    maps ``image_id`` to a row of one constant tensor of all proposals. An
    element whose id has no proposals stops the pipeline with an
    ``InvalidArgumentError`` rather than get none. Attach proposals before
    any augmentation that moves pixels, or move them with the boxes.

    Args:
        ds: unbatched elements with an int64 ``image_id``.
        proposals_by_id: a ``SplitProposals`` or any mapping image_id ->
            [P, 4] boxes with P <= ``max_proposals``; shorter ones are
            padded with zero rows.
        max_proposals: rows per element.

    Returns:
        The dataset, each element with a ``proposals`` key added.
    """
    if isinstance(proposals_by_id, SplitProposals):
        image_ids, boxes = proposals_by_id.image_ids, proposals_by_id.boxes
    else:
        image_ids = np.asarray([int(i) for i in proposals_by_id], np.int64)
        boxes = np.zeros((len(image_ids), max_proposals, 4), np.float32)
        for row, (image_id, given) in enumerate(proposals_by_id.items()):
            given = np.asarray(given, np.float32).reshape(-1, 4)
            if len(given) > max_proposals:
                raise ValueError(f"image_id {image_id} has {len(given)} proposals, more than {max_proposals}.")
            boxes[row] = pad_proposals(given, max_proposals)[0]
    if boxes.shape[1:] != (max_proposals, 4):
        raise ValueError(f"Proposals of shape {boxes.shape[1:]} do not match max_proposals={max_proposals}.")
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(image_ids, tf.int64), tf.range(len(image_ids), dtype=tf.int64)
        ),
        default_value=-1,
    )
    all_boxes = tf.constant(boxes, tf.float32)

    def attach(element):
        row = table.lookup(tf.cast(element["image_id"], tf.int64))
        # The check must run before the gather, whose own error would name no image.
        with tf.control_dependencies([tf.debugging.assert_non_negative(row, message="an image_id without proposals")]):
            row = tf.identity(row)
        return dict(element, proposals=tf.ensure_shape(tf.gather(all_boxes, row), [max_proposals, 4]))

    return ds.map(attach, num_parallel_calls=tf.data.AUTOTUNE)
