"""Shared test helpers: the layer test, the model test and TFLite checks.

Every layer and model in kzoo goes through the same checks, so a new one is
covered by calling one function:

- ``check_layer``: config round-trip, eager and symbolic shapes, a functional
  model holding the layer saved as ``.keras`` and reloaded with
  ``safe_mode=True``, one ``fit`` step, and TFLite conversion with builtin ops
  only giving the same output.
- ``check_model``: predict, one ``fit`` step with finite loss, ``.keras``
  round-trip giving the same outputs.
- ``to_tflite`` / ``run_tflite``: convert with TFLITE_BUILTINS only (a Flex op
  fails the conversion) and run with the LiteRT interpreter.
- ``small_model_and_batch``: a registered model on the ``tiny`` backbone (in
  its registry's small configuration) with a few elements of its dataset's
  tiny variant, as (inputs, targets) and images.
"""

import importlib.util
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

import kzoo
import kzoo.data
from kzoo.export.tflite_convert import convert_callable
from kzoo.data.proposal_cache import attach_proposals, split_proposals
from kzoo.export.inference import num_external_proposals
from kzoo.models.registry import get_spec


def _as_list(x):
    if isinstance(x, dict):
        return [x[k] for k in sorted(x)]
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _spec(array, batch=None):
    array = np.asarray(array)
    return tf.TensorSpec((batch,) + array.shape[1:], tf.as_dtype(array.dtype))


def to_tflite(fn_or_model, example_inputs, quantize=None, representative_data=None):
    """Convert a model or callable to TFLite bytes with builtin ops only.

    ``example_inputs`` is one array or a list of arrays (with batch axis); the
    TFLite signature uses their exact shapes. Conversion fails if any op
    needs SELECT_TF_OPS.
    """
    inputs = _as_list(example_inputs)
    specs = [_spec(a, batch=np.asarray(a).shape[0]) for a in inputs]
    if isinstance(fn_or_model, keras.Model):
        model = fn_or_model
        if len(inputs) == 1:
            fn = lambda x: model(x, training=False)  # noqa: E731
        else:
            fn = lambda *xs: model(list(xs), training=False)  # noqa: E731
    else:
        fn = fn_or_model
    flatbuffer = convert_callable(fn, specs, quantize, representative_data, trackable=fn_or_model)
    assert_builtin_ops_only(flatbuffer)
    return flatbuffer


def assert_builtin_ops_only(tflite_file_or_bytes):
    """Every op of a converted file is a TFLite builtin: no Flex (SELECT_TF_OPS) op, no CUSTOM op."""
    ops = tflite_op_names(tflite_file_or_bytes)
    assert not [op for op in ops if op.startswith("Flex") or op == "CUSTOM"], sorted(ops)


def run_tflite(tflite_bytes, inputs):
    """Run TFLite bytes with the LiteRT interpreter; returns the outputs in order.

    Outputs are ordered like the converted function's flattened outputs
    (dict outputs sorted by key, as ``tf.nest`` flattens them).
    """
    interpreter = Interpreter(model_content=tflite_bytes)
    runner = interpreter.get_signature_runner()
    input_details = runner.get_input_details()
    names = sorted(input_details, key=lambda n: int(n.split("_")[-1]) if n.split("_")[-1].isdigit() else 0)
    feed = {name: np.asarray(x) for name, x in zip(names, _as_list(inputs))}
    result = runner(**feed)
    keys = sorted(result, key=lambda n: int(n.split("_")[-1]) if n.split("_")[-1].isdigit() else n)
    return [np.array(result[k], copy=True) for k in keys]


def tflite_op_names(tflite_file_or_bytes):
    """The set of operator names in a TFLite model (``"CONV_2D"``, ...; Flex ops start with ``"Flex"``)."""
    if isinstance(tflite_file_or_bytes, (bytes, bytearray)):
        interpreter = Interpreter(model_content=bytes(tflite_file_or_bytes))
    else:
        interpreter = Interpreter(model_path=str(tflite_file_or_bytes))
    return {op["op_name"] for op in interpreter._get_ops_details()}


DETECTION_KEYS = ("detection_boxes", "detection_scores", "detection_classes")


def assert_same_detections(got, want, atol):
    """Two detection dicts hold the same detections per image, in any order among equal scores.

    RoI max pooling can give two proposals identical features, hence equal
    scores, and TF's and TFLite's NMS may list such ties in either order.
    Per-detection outputs besides boxes, scores and classes (masks,
    keypoints) must match those of the counterpart.
    """
    extra = [key for key in want if key.startswith("detection_") and key not in DETECTION_KEYS]
    np.testing.assert_array_equal(got["num_detections"], want["num_detections"])
    for i, count in enumerate(np.asarray(want["num_detections"])):
        unused = set(range(count))
        for k in range(count):
            match = next(
                (
                    j for j in sorted(unused)
                    if got["detection_classes"][i, j] == want["detection_classes"][i, k]
                    and abs(got["detection_scores"][i, j] - want["detection_scores"][i, k]) <= atol
                    and np.max(np.abs(got["detection_boxes"][i, j] - want["detection_boxes"][i, k])) <= atol
                ),
                None,
            )
            assert match is not None, f"image {i}: detection {k} of {count} has no counterpart"
            unused.remove(match)
            for key in extra:
                np.testing.assert_allclose(got[key][i, match], want[key][i, k], atol=atol, err_msg=key)


def _float_outputs(outputs):
    return [o for o in _as_list(outputs) if "float" in str(o.dtype)]


def check_layer(
    layer_cls,
    init_kwargs,
    inputs,
    expected_output_shapes=None,
    fit=True,
    tflite=True,
    atol=1e-5,
):
    """Run the standard layer checks; returns the eager outputs as a list of numpy arrays.

    Args:
        layer_cls: the layer class.
        init_kwargs: constructor arguments.
        inputs: one array or a list of arrays (with batch axis) the layer is called on.
        expected_output_shapes: optional list of shapes of the eager outputs.
        fit: run one ``fit`` step of a model holding the layer (needs a float output).
        tflite: convert the model with builtin ops only and compare outputs.
        atol: tolerance for the reloaded and TFLite outputs.
    """
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config, "config round-trip changed the config"

    input_list = _as_list(inputs)
    single = not isinstance(inputs, (list, tuple))
    eager = layer(inputs if single else [tf.convert_to_tensor(x) for x in input_list])
    eager_list = [np.asarray(o) for o in _as_list(eager)]
    if expected_output_shapes is not None:
        assert [tuple(o.shape) for o in eager_list] == [tuple(s) for s in expected_output_shapes]

    symbolic_inputs = [
        keras.Input(shape=np.asarray(x).shape[1:], dtype=str(np.asarray(x).dtype)) for x in input_list
    ]
    symbolic_out = layer_cls.from_config(config)(symbolic_inputs[0] if single else symbolic_inputs)
    for sym, real in zip(_as_list(symbolic_out), eager_list):
        sym_shape = tuple(sym.shape)
        assert len(sym_shape) == real.ndim, (sym_shape, real.shape)
        for s, r in zip(sym_shape[1:], real.shape[1:]):
            assert s is None or s == r, (sym_shape, real.shape)

    model = keras.Model(symbolic_inputs[0] if single else symbolic_inputs, symbolic_out)
    model_inputs = input_list[0] if single else input_list
    reference = [np.asarray(o) for o in _as_list(model(model_inputs))]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "layer.keras")
        model.save(path)
        reloaded = keras.saving.load_model(path, safe_mode=True)
    again = [np.asarray(o) for o in _as_list(reloaded(model_inputs))]
    for a, b in zip(reference, again):
        np.testing.assert_allclose(a, b, atol=atol)

    if fit:
        float_outs = _float_outputs(symbolic_out)
        assert float_outs, "fit=True needs a float output"
        fit_model = keras.Model(model.inputs, float_outs[0])
        fit_model.compile(optimizer="sgd", loss="mse")
        target = np.zeros(np.asarray(fit_model(model_inputs)).shape, np.float32)
        history = fit_model.fit(model_inputs, target, epochs=1, batch_size=len(input_list[0]), verbose=0)
        assert np.isfinite(history.history["loss"][0])

    if tflite:
        tflite_bytes = to_tflite(model, input_list if not single else input_list[0])
        lite = run_tflite(tflite_bytes, input_list)
        reference = [np.asarray(o) for o in _as_list(model(model_inputs))]
        assert len(lite) == len(reference)
        for got, want in zip(lite, reference):
            np.testing.assert_allclose(got, want, atol=max(atol, 1e-4))
    return eager_list


def check_model(model, inputs, targets, compile_fn, atol=1e-5, fit_batch_size=None, training_model=None, images=None):
    """Run the standard model checks; returns the reloaded model.

    ``compile_fn(model)`` compiles the model ``fit`` trains (e.g. the
    registry's ``spec.compile``). Predicts, runs one ``fit`` step (finite
    loss), saves as ``.keras`` and reloads with ``safe_mode=True``, and
    asserts the reloaded model predicts the same outputs.

    For a model with a training graph (``training_model``, built from the
    model's own layers), ``fit`` trains that graph on ``inputs`` and
    ``targets``, the model predicts ``images``, and the step must change
    the model's predictions: the two graphs share their weights.
    """
    fit_model = model if training_model is None else training_model
    predict_inputs = inputs if training_model is None else images
    before = _as_list(model.predict(predict_inputs, verbose=0))
    compile_fn(fit_model)
    batch = fit_batch_size or len(_as_list(inputs)[0])
    history = fit_model.fit(inputs, targets, epochs=1, batch_size=batch, verbose=0)
    assert np.isfinite(history.history["loss"][0]), history.history
    after = _as_list(model.predict(predict_inputs, verbose=0))
    for a in after:
        assert np.all(np.isfinite(a)), "predictions went non-finite after one step"
    assert len(before) == len(after)
    if training_model is not None:
        changed = [not np.array_equal(a, b) for a, b in zip(before, after) if "float" in str(a.dtype)]
        assert any(changed), "a fit step of the training graph did not change the model's predictions"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        reloaded = keras.saving.load_model(path, safe_mode=True)
    again = _as_list(reloaded.predict(predict_inputs, verbose=0))
    for a, b in zip(after, again):
        np.testing.assert_allclose(a, b, atol=atol)
    return reloaded


def prediction_inputs(inputs, images):
    """What the inference model and its exports take: the images, with the proposals when the model has them."""
    if isinstance(inputs, dict) and "proposals" in inputs:
        return {"images": images, "proposals": inputs["proposals"][: len(images)]}
    return {"images": images}


def _stack(items):
    """Stack a list of equally nested structures of arrays along a new first axis."""
    return tf.nest.map_structure(lambda *values: np.stack([np.asarray(v) for v in values]), *items)


def tiny_variant(dataset):
    """The small config of a built-in dataset, for tests."""
    base, _, config = dataset.partition("/")
    return f"{base}/{config + '_tiny' if config else 'tiny'}"


def small_model_and_batch(name, count=4):
    """Registered model ``name`` (tiny backbone) and ``count`` training elements of its dataset's tiny variant.

    Returns (spec, model, inputs, targets, images): the model's (inputs,
    targets) from ``spec.targets`` and the raw uint8 images. Models with
    external proposals get the split's cached selective-search proposals
    (``inputs["proposals"]``).
    """
    spec = get_spec(name)
    dataset = tiny_variant(spec.dataset)
    info = kzoo.data.info(dataset)
    image_size = tuple(info.image_size)
    model = kzoo.build(
        name, num_classes=info.num_classes, backbone="tiny", input_shape=image_size + (3,), **spec.small_config
    )
    ds = kzoo.data.load(dataset, "train")
    num_proposals = num_external_proposals(model)
    if num_proposals is not None:
        ds = attach_proposals(ds, split_proposals(dataset, "train", num_proposals, verbose=0), num_proposals)
    elements = list(ds.take(count).as_numpy_iterator())
    pairs = [spec.targets(element, image_size) for element in elements]
    inputs = _stack([x for x, _ in pairs])
    targets = _stack([y for _, y in pairs])
    images = np.stack([element["image"] for element in elements])
    return spec, model, inputs, targets, images


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_recipe(name):
    """The module of ``recipes/<name>.py`` (recipes are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"recipe_{name}", os.path.join(REPO, "recipes", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
