"""Convert a Keras model or a TF callable to a TFLite flatbuffer, builtin ops only.

Conversion goes through a temporary SavedModel written by
``keras.export.ExportArchive``, which tracks Keras 3 variables explicitly. A
plain ``tf.Module`` does not see Keras 3 variables, and converting from it or
from a bare concrete function yields uninitialized weights.
"""

import tempfile

import keras
import tensorflow as tf

QUANTIZATIONS = (None, "float16", "int8")


def convert_callable(fn, input_signature, quantize=None, representative_data=None, trackable=None):
    """Convert ``fn`` traced at ``input_signature`` to TFLite bytes, builtin ops only.

    Args:
        fn: a callable taking tensors positionally (a Keras model works).
        input_signature: list of ``tf.TensorSpec``, one per positional input.
        quantize: ``None`` (float32), ``"float16"`` or ``"int8"`` (full integer
            ops; float input and output kept so callers need no rescaling).
        representative_data: for ``"int8"``, a callable yielding lists of
            input arrays, as ``TFLiteConverter.representative_dataset`` takes.
        trackable: the object owning ``fn``'s variables (the model); defaults
            to ``fn`` itself.

    Raises:
        ValueError: on an unknown ``quantize`` or int8 without representative data.
    """
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}, got {quantize!r}")
    if quantize == "int8" and representative_data is None:
        raise ValueError("int8 quantization needs representative_data")
    owner = trackable if trackable is not None else fn
    with tempfile.TemporaryDirectory() as tmp:
        if isinstance(owner, keras.layers.Layer):
            archive = keras.export.ExportArchive()
            archive.track(owner)
            archive.add_endpoint("serving_default", fn, input_signature=list(input_signature))
            archive.write_out(tmp, verbose=False)
        else:
            module = tf.Module()
            module.serve = tf.function(fn, input_signature=list(input_signature))
            tf.saved_model.save(module, tmp, signatures={"serving_default": module.serve.get_concrete_function()})
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        # Freeze weights into constants; resource variables would need an init signature.
        converter.experimental_enable_resource_variables = False
        if quantize == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif quantize == "int8":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = representative_data
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        return converter.convert()
