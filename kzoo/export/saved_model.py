"""SavedModel export for TF Serving: versioned, atomic, three signatures."""

import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from kzoo.models.weights import check_finite_weights
from kzoo.export.image_bytes import MAX_PIXELS, decode_batch
from kzoo.export.inference import make_inference_fn, model_input_size, num_external_proposals
from kzoo.export.labels import recorded_class_names, write_saved_model_labels
from kzoo.export.tf_examples import parse_examples
from kzoo.export.warmup import probe_inputs, probe_size, write_warmup_requests
from kzoo.staging import apply_umask, remove_stale_staging, staging_prefix

# TF Serving reads integer version directories: base_dir/name/<version>/.
SIGNATURES = ("serving_default", "serving_bytes", "tf_example")


def next_version(model_dir):
    """The next free integer version under ``model_dir`` (1 when there is none)."""
    if not os.path.isdir(model_dir):
        return 1
    versions = [int(entry) for entry in os.listdir(model_dir) if entry.isdigit()]
    return max(versions, default=0) + 1


def _build_archive(model, image_masks=False, max_pixels=MAX_PIXELS):
    predict = make_inference_fn(model, image_masks, max_pixels)
    height, width = model_input_size(model)
    archive = keras.export.ExportArchive()
    archive.track(model)
    images = tf.TensorSpec(None, tf.uint8, name="images")
    image_bytes = tf.TensorSpec([None], tf.string, name="image_bytes")
    examples = tf.TensorSpec([None], tf.string, name="examples")
    num_proposals = num_external_proposals(model)
    if num_proposals is None:
        archive.add_endpoint("serving_default", predict, input_signature=[images])
        archive.add_endpoint(
            "serving_bytes", lambda data: predict(decode_batch(data, height, width, max_pixels)),
            input_signature=[image_bytes],
        )

        def tf_example(serialized):
            features = parse_examples(serialized, {"image/encoded": tf.io.FixedLenFeature([], tf.string)})
            return predict(decode_batch(features["image/encoded"], height, width, max_pixels))

        archive.add_endpoint("tf_example", tf_example, input_signature=[examples])
        return archive, predict

    # Models that take external proposals (R-CNN, Fast R-CNN): every signature takes them too.
    proposals = tf.TensorSpec([None, num_proposals, 4], tf.float32, name="proposals")
    archive.add_endpoint("serving_default", predict, input_signature=[images, proposals])
    archive.add_endpoint(
        "serving_bytes", lambda data, boxes: predict(decode_batch(data, height, width, max_pixels), boxes),
        input_signature=[image_bytes, proposals],
    )

    def tf_example_with_proposals(serialized):
        spec = {
            "image/encoded": tf.io.FixedLenFeature([], tf.string),
            "image/proposals": tf.io.FixedLenFeature([num_proposals * 4], tf.float32),
        }
        features = parse_examples(serialized, spec)
        boxes = tf.reshape(features["image/proposals"], [-1, num_proposals, 4])
        return predict(decode_batch(features["image/encoded"], height, width, max_pixels), boxes)

    archive.add_endpoint("tf_example", tf_example_with_proposals, input_signature=[examples])
    return archive, predict


def _check_export(path, predict, height, width, num_proposals=None):
    """The written SavedModel must give the in-memory model's predictions (real weights, same graph)."""
    probe = {key: tf.constant(value) for key, value in probe_inputs(height, width, num_proposals).items()}
    expected = predict(**probe)
    loaded = tf.saved_model.load(path)
    got = loaded.signatures["serving_default"](**probe)
    for key, value in expected.items():
        if value.dtype.is_floating and not np.all(np.isfinite(value.numpy())):
            raise ValueError(f"the model's {key!r} is not finite on a probe image; it is not exported")
        np.testing.assert_allclose(got[key].numpy(), value.numpy(), rtol=1e-4, atol=1e-5, err_msg=key)


def export_saved_model(
    model, base_dir, name, version=None, class_names=None, image_masks=False, max_pixels=MAX_PIXELS
):
    """Write ``model`` with decoding inside as ``base_dir/name/version`` and return that path.

    The export is written to a temporary directory beside the target, checked
    (it must reproduce the in-memory model's predictions, all finite), given
    the permissions the umask gives, then renamed into place, so a failed
    export leaves no version directory and an existing version is never
    overwritten. A model with non-finite weights is refused before anything
    is written; temporaries of killed exports are removed.

    Args:
        model: a model from ``kzoo.build`` or its reloaded ``.keras`` checkpoint.
        base_dir: the model base path TF Serving reads (``saved_models``).
        name: the served model's name.
        version: integer version; the next free one when None.
        class_names: written to ``assets.extra/labels.json``; by default the
            classes the model learned, when it carries its dataset record
            (``kzoo.training.train``, ``kzoo.load_checkpoint``).
        image_masks: models with a mask head also return
            ``detection_image_masks``, pasted at each request image's size
            (``make_inference_fn``).
        max_pixels: the largest image (height x width) a request may send,
            as pixels or as encoded bytes (their header's claim, checked
            before decoding); larger ones are refused.
    """
    model_dir = os.path.join(base_dir, name)
    version = next_version(model_dir) if version is None else int(version)
    if version < 1:
        raise ValueError(f"version must be a positive integer, got {version}")
    target = os.path.join(model_dir, str(version))
    if os.path.exists(target):
        raise FileExistsError(f"{target} exists; versions are never overwritten")
    # Probes and warm-up requests at the model's size, or smaller where the export refuses that many pixels.
    height, width = probe_size(*model_input_size(model), max_pixels)
    check_finite_weights(model)
    os.makedirs(model_dir, exist_ok=True)
    remove_stale_staging(model_dir)
    archive, predict = _build_archive(model, image_masks, max_pixels)
    staging = tempfile.mkdtemp(prefix=staging_prefix(version), dir=model_dir)
    try:
        archive.write_out(staging, verbose=False)
        num_proposals = num_external_proposals(model)
        write_warmup_requests(staging, height, width, model_name=name, num_proposals=num_proposals)
        class_names = recorded_class_names(model) if class_names is None else class_names
        if class_names is not None:
            write_saved_model_labels(staging, class_names)
        _check_export(staging, predict, height, width, num_proposals)
        apply_umask(staging)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
