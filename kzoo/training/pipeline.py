"""tf.data pipelines from built-in datasets to ``model.fit`` batches."""

import tensorflow as tf

import kzoo.data
from kzoo.data.pipeline import random_color_jitter, random_flip_left_right, random_zoom_in
from kzoo.data.proposal_cache import attach_proposals, split_proposals


def fit_dataset(
    spec, split, batch_size, image_size, shuffle=False, repeat=False, dataset=None, seed=0, take=None,
    flip=False, zoom_in=None, color_jitter=None, cache=False, num_proposals=None, autotune=False,
):
    """Dataset ``split`` mapped by the model's ``targets``, batched and prefetched.

    Args:
        spec: the model's ``ModelSpec``.
        split: "train", "validation" or "test".
        batch_size: global batch size (split across replicas by ``fit``).
        image_size: (height, width) of the model's input.
        shuffle: shuffle examples (training).
        repeat: repeat forever (pair with ``steps_per_epoch``).
        dataset: built-in dataset name; the model's default when None.
        take: use only the first ``take`` examples.
        flip: mirror each element with probability 1/2 before ``targets``
            (boxes, masks, segmentation and keypoints follow the image; left
            and right joints swap).
        zoom_in: None, or the smallest window side (a fraction of the image's)
            for ``random_zoom_in``: crop a random window that holds every
            object and resize it back (scale augmentation).
        color_jitter: None, or the largest factor by which
            ``random_color_jitter`` scales exposure and saturation.
        cache: keep the decoded elements in memory after the first pass
            (small splits), so later epochs cost only the augmentation.
        num_proposals: for models with external proposals (R-CNN, Fast
            R-CNN), attach this many selective-search proposals to every
            element (``kzoo.data.proposal_cache``: computed once per split
            and cached on disk); augmentation moves them with the boxes.
        autotune: let tf.data's autotuner tune the maps' parallelism and
            the prefetch buffer. Off by default: with it on, deleting an
            iterator (what ``fit`` does after every epoch of a finite
            dataset, and after every validation pass) waits about 1.4 s
            for the autotuner about half the time, while without it the
            maps run on TF's default parallelism (up to 16 calls, bounded
            by the cores) as fast or faster here.
    """
    dataset = dataset or spec.dataset
    ds = kzoo.data.load(dataset, split=split)
    if num_proposals is not None:
        ds = attach_proposals(ds, split_proposals(dataset, split, num_proposals), num_proposals)
    if take is not None:
        ds = ds.take(take)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(2048, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    if zoom_in is not None:
        ds = ds.map(lambda element: random_zoom_in(element, zoom_in), num_parallel_calls=tf.data.AUTOTUNE)
    if flip:
        flip_indices = kzoo.data.info(dataset).keypoint_flip_indices or None
        ds = ds.map(lambda element: random_flip_left_right(element, flip_indices), num_parallel_calls=tf.data.AUTOTUNE)
    if color_jitter is not None:
        ds = ds.map(lambda element: random_color_jitter(element, color_jitter), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(lambda element: spec.targets(element, image_size), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size, drop_remainder=repeat).prefetch(tf.data.AUTOTUNE if autotune else 2)
    # Several workers each read the whole pipeline and keep their share of every global batch: the
    # built-in datasets have too few files to shard by file, and every worker shuffles alike (one seed).
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.autotune.enabled = autotune
    return ds.with_options(options)
