"""Convert a Keras model or a TF callable to a TFLite flatbuffer, builtin ops only.

Conversion goes through a temporary SavedModel written by
``keras.export.ExportArchive``, which tracks Keras 3 variables explicitly. A
plain ``tf.Module`` does not see Keras 3 variables, and converting from it or
from a bare concrete function yields uninitialized weights.

Full-integer (int8) conversion measures every tensor's range itself instead of
trusting TFLite's calibrator. The calibrator logs an op's inputs again after
the op has run, and when the interpreter's memory planner lets an
element-wise op write its output over an input's buffer (in place), that
input is recorded with the output's range (tensorflow/tensorflow#127842). A
box height in [0, 1] multiplied by the map size then gets the product's range
[0, 32], an 8-bit scale of 0.125, and every height below 0.06 becomes 0:
RoIAlign samples the wrong cells and the second stage of a detector
mislocalizes. So the converter only annotates the float graph
(``_experimental_calibrate_only``); the ranges of its main graph are
measured again on the representative data by an interpreter that keeps every
tensor (no buffer is shared), and the MLIR quantizer quantizes with those.
"""

import logging
import tempfile

import keras
import numpy as np
import tensorflow as tf

QUANTIZATIONS = (None, "float16", "int8")


def convert_callable(fn, input_signature, quantize=None, representative_data=None, trackable=None,
                     pixel_input=False):
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
        pixel_input: for ``"int8"``, the first input (float32 in
            ``input_signature``, pixel values in [0, 255]) becomes uint8 in the
            file, with scale 1 and zero point 0: a uint8 value is the pixel itself.

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
            return _quantize_int8(converter, representative_data, pixel_input)
        return converter.convert()


def _quantize_int8(converter, representative_data, pixel_input=False):
    """The int8 flatbuffer of ``converter``, quantized with ranges measured by ``_measured_ranges``.

    With ``pixel_input`` the first input's range is [0, 255] whatever the
    data spans, and the file takes it as uint8 (scale 1, zero point 0).
    Keeps TFLite's calibrator ranges (with a warning) when
    ``representative_data`` yields nothing on a second call (a one-shot generator).
    """
    import flatbuffers
    from tensorflow.lite.python import convert as tflite_convert
    from tensorflow.lite.python import schema_py_generated as schema

    converter._experimental_calibrate_only = True  # noqa: SLF001 (as tf.lite.experimental.QuantizationDebugger)
    calibrated = converter.convert()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(calibrated, 0))
    subgraph = model.subgraphs[0]
    if not _measured_ranges(calibrated, subgraph, representative_data):
        logging.warning("int8: representative_data gave no samples on a second pass; TFLite calibrator ranges kept")
    if pixel_input:
        pixels = subgraph.tensors[subgraph.inputs[0]].quantization
        pixels.min, pixels.max = [0.0], [255.0]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return tflite_convert.mlir_quantize(
        bytes(builder.Output()),
        disable_per_channel=converter._experimental_disable_per_channel,  # noqa: SLF001
        input_data_type=tf.uint8 if pixel_input else tf.float32,
    )


def _measured_ranges(calibrated, subgraph, representative_data):
    """Replace the min / max of every calibrated float tensor of ``subgraph`` by its range on the data.

    Args:
        calibrated: the float flatbuffer with calibration ranges.
        subgraph: its main subgraph as a ``schema_py_generated.SubGraphT``, updated in place.
        representative_data: as ``TFLiteConverter.representative_dataset``.

    Returns:
        the number of samples measured.
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    from tensorflow.lite.python import schema_py_generated as schema

    # Builtin kernels as the calibrator runs them; preserving all tensors turns off in-place buffers.
    interpreter = Interpreter(
        model_content=bytes(calibrated), experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interpreter.allocate_tensors()
    logged = [
        i for i, tensor in enumerate(subgraph.tensors)
        if tensor.quantization is not None and tensor.quantization.min is not None
        and len(tensor.quantization.min) == 1 and tensor.type == schema.TensorType.FLOAT32
    ]
    low, high = {}, {}
    count = 0
    for sample in representative_data():
        _feed(interpreter, sample)
        interpreter.invoke()
        count += 1
        for i in logged:
            try:
                value = interpreter.get_tensor(i)
            except ValueError:  # an unallocated tensor (e.g. an LSTM intermediate)
                continue
            if value.size:
                low[i] = min(low.get(i, np.inf), float(np.min(value)))
                high[i] = max(high.get(i, -np.inf), float(np.max(value)))
    for i in logged:
        if i in low and np.isfinite(low[i]) and np.isfinite(high[i]):
            subgraph.tensors[i].quantization.min = [low[i]]
            subgraph.tensors[i].quantization.max = [high[i]]
    return count


def _feed(interpreter, sample):
    """Set the inputs of one representative sample (a list by input order, or a dict by signature name)."""
    signature = None
    if isinstance(sample, tuple):
        signature, sample = sample
    if isinstance(sample, dict):
        details = interpreter.get_signature_runner(signature).get_input_details()
        pairs = [(details[name]["index"], value) for name, value in sample.items()]
    else:
        pairs = [(detail["index"], value) for detail, value in zip(interpreter.get_input_details(), sample)]
    dtypes = {detail["index"]: detail["dtype"] for detail in interpreter.get_input_details()}
    for index, value in pairs:
        interpreter.set_tensor(index, np.asarray(value, dtypes[index]))
