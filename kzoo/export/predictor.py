"""Run an exported artifact, a SavedModel directory or a ``.tflite`` file, alike."""

import os

import numpy as np
import tensorflow as tf

from kzoo.export.labels import read_saved_model_labels, read_tflite_labels


class SavedModelPredictor:
    """Runs the ``serving_default`` signature of a SavedModel directory."""

    def __init__(self, path):
        self.path = path
        self._loaded = tf.saved_model.load(path)
        self._signature = self._loaded.signatures["serving_default"]
        self.class_names = read_saved_model_labels(path)

    def predict(self, images):
        """uint8 images [N, H, W, 3] (any size) -> prediction dict of numpy arrays."""
        outputs = self._signature(images=tf.constant(np.asarray(images, np.uint8)))
        return {key: value.numpy() for key, value in outputs.items()}


class TFLitePredictor:
    """Runs a ``.tflite`` file with the LiteRT interpreter, one image at a time."""

    def __init__(self, path):
        from ai_edge_litert.interpreter import Interpreter

        self.path = path
        with open(path, "rb") as handle:
            self.class_names = read_tflite_labels(handle.read())
        self._interpreter = Interpreter(model_path=path)
        self._runner = self._interpreter.get_signature_runner()
        (self._input_name, details), = self._runner.get_input_details().items()
        self._input_dtype = details["dtype"]
        self.input_size = tuple(int(d) for d in details["shape"][1:3])

    def predict(self, images):
        """uint8 images [N, H, W, 3] (any size) -> prediction dict of numpy arrays."""
        results = []
        for image in np.asarray(images, np.uint8):
            resized = tf.image.resize(tf.cast(image, tf.float32), self.input_size)
            if self._input_dtype == np.uint8:
                resized = tf.cast(tf.round(resized), tf.uint8)
            out = self._runner(**{self._input_name: resized.numpy()[None]})
            results.append({key: np.array(value, copy=True) for key, value in out.items()})
        return {key: np.concatenate([r[key] for r in results]) for key in results[0]} if results else {}


def load_predictor(path):
    """A predictor for a SavedModel directory or a ``.tflite`` file."""
    if os.path.isdir(path):
        return SavedModelPredictor(path)
    if path.endswith(".tflite"):
        return TFLitePredictor(path)
    raise ValueError(f"{path} is neither a SavedModel directory nor a .tflite file")
