"""Run an exported artifact, a SavedModel directory or a ``.tflite`` file, alike."""

import os
import warnings

import numpy as np
import tensorflow as tf

from kzoo.export.labels import read_saved_model_labels, read_tflite_labels


def host_proposals(images, count):
    """Selective-search proposals of uint8 images [N, H, W, 3], padded with zero boxes: float32 [N, count, 4].

    What models with external proposals (R-CNN, Fast R-CNN) are fed when a
    caller gives images only, as R-CNN ran it: on the host, before the network.
    """
    from kzoo.data.proposal_cache import pad_proposals
    from kzoo.data.selective_search import selective_search

    proposals = np.zeros((len(images), count, 4), np.float32)
    for i, image in enumerate(images):
        proposals[i] = pad_proposals(selective_search(np.asarray(image, np.uint8), max_proposals=count), count)[0]
    return proposals


def as_pixels(images):
    """``images`` as uint8 [N, H, W, 3]; a clear error for any other shape.

    Floats are taken as pixel values in [0, 255], rounded and clipped; floats
    that all lie in [0, 1] draw a warning, since they would be near-black images.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be [N, H, W, 3] (a batch of RGB images), got shape {images.shape}")
    if images.dtype == np.uint8:
        return images
    if not (np.issubdtype(images.dtype, np.floating) or np.issubdtype(images.dtype, np.integer)):
        raise ValueError(f"images must hold numbers (uint8 pixels in [0, 255]), got {images.dtype}")
    if np.issubdtype(images.dtype, np.floating):
        if not np.all(np.isfinite(images)):
            raise ValueError("images hold NaN or infinite values")
        if images.size and images.max() <= 1.0 and images.max() > 0:
            warnings.warn("images are floats in [0, 1]; kzoo expects pixel values in [0, 255] "
                          "(multiply by 255), so these are nearly black", stacklevel=3)
        images = np.round(images)
    return np.clip(images, 0, 255).astype(np.uint8)


def as_proposals(proposals, num_images, num_proposals):
    """``proposals`` as float32 [N, P, 4] for ``num_images`` images; a clear error for any other shape."""
    proposals = np.asarray(proposals, np.float32)
    expected = (num_images, num_proposals, 4)
    if proposals.shape != expected:
        raise ValueError(f"proposals must be [N, P, 4] = {list(expected)} (one box list per image), "
                         f"got shape {proposals.shape}")
    if not np.all(np.isfinite(proposals)):
        raise ValueError("proposals hold NaN or infinite values")
    return proposals


class SavedModelPredictor:
    """Runs the ``serving_default`` signature of a SavedModel directory."""

    def __init__(self, path):
        self.path = path
        self._loaded = tf.saved_model.load(path)
        self._signature = self._loaded.signatures["serving_default"]
        self.class_names = read_saved_model_labels(path)
        proposals = self._signature.structured_input_signature[1].get("proposals")
        self.num_proposals = None if proposals is None else int(proposals.shape[1])

    def predict(self, images, proposals=None):
        """uint8 images [N, H, W, 3] (any size) -> prediction dict of numpy arrays.

        Models with external proposals take ``proposals`` [N, P, 4]; without
        them, selective search runs on the host (``host_proposals``).
        """
        images = as_pixels(images)
        inputs = {"images": tf.constant(images)}
        if self.num_proposals is not None:
            if proposals is None:
                proposals = host_proposals(images, self.num_proposals)
            inputs["proposals"] = tf.constant(as_proposals(proposals, len(images), self.num_proposals))
        outputs = self._signature(**inputs)
        return {key: value.numpy() for key, value in outputs.items()}


def usable_cores():
    """Processors this process may run on (its affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity on this platform
        return max(1, os.cpu_count() or 1)


class TFLitePredictor:
    """Runs a ``.tflite`` file with the LiteRT interpreter, one image at a time.

    ``num_threads``: the interpreter's threads, by default every core this
    process may use (LiteRT's own default is one thread, which leaves the
    other cores of a serving machine idle); 1 or 2 to see what a phone gets.
    """

    def __init__(self, path, num_threads=None):
        from ai_edge_litert.interpreter import Interpreter

        self.path = path
        with open(path, "rb") as handle:
            self.class_names = read_tflite_labels(handle.read())
        self.num_threads = int(num_threads or usable_cores())
        self._interpreter = Interpreter(model_path=path, num_threads=self.num_threads)
        self._runner = self._interpreter.get_signature_runner()
        inputs = self._runner.get_input_details()
        details = inputs["images"]
        self._input_dtype = details["dtype"]
        self.input_size = tuple(int(d) for d in details["shape"][1:3])
        self.num_proposals = int(inputs["proposals"]["shape"][1]) if "proposals" in inputs else None

    def predict(self, images, proposals=None):
        """uint8 images [N, H, W, 3] (any size) -> prediction dict of numpy arrays.

        Models with external proposals take ``proposals`` [N, P, 4]; without
        them, selective search runs on the host (``host_proposals``).
        """
        images = as_pixels(images)
        if self.num_proposals is not None:
            if proposals is None:
                proposals = host_proposals(images, self.num_proposals)
            proposals = as_proposals(proposals, len(images), self.num_proposals)
        results = []
        for i, image in enumerate(images):
            resized = tf.image.resize(tf.cast(image, tf.float32), self.input_size)
            if self._input_dtype == np.uint8:
                resized = tf.cast(tf.round(resized), tf.uint8)
            feed = {"images": resized.numpy()[None]}
            if self.num_proposals is not None:
                feed["proposals"] = proposals[i : i + 1]
            out = self._runner(**feed)
            results.append({key: np.array(value, copy=True) for key, value in out.items()})
        return {key: np.concatenate([r[key] for r in results]) for key in results[0]} if results else {}


def load_predictor(path, num_threads=None):
    """A predictor for a SavedModel directory or a ``.tflite`` file (run on ``num_threads``, default every core)."""
    if os.path.isdir(path):
        return SavedModelPredictor(path)
    if path.endswith(".tflite"):
        return TFLitePredictor(path, num_threads)
    raise ValueError(f"{path} is neither a SavedModel directory nor a .tflite file")
