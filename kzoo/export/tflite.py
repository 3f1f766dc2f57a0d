"""TFLite export: the whole inference graph (decode and NMS included), builtin ops only."""

import tensorflow as tf

from kzoo.models.weights import check_finite_weights
from kzoo.export.inference import make_inference_fn, model_input_size, num_external_proposals
from kzoo.export.labels import add_tflite_labels, recorded_class_names
from kzoo.export.tflite_convert import convert_callable
from kzoo.staging import replace_atomically


def export_tflite(model, path, quantize=None, representative_data=None, class_names=None, image_masks=False):
    """Convert ``model`` with decoding inside to a ``.tflite`` file at ``path``.

    The TFLite signature ``serving_default`` takes ``images`` [1, H, W, 3] at
    the model's input size, uint8 (full-integer int8 files too: their
    input's scale is 1 and zero point 0, so the raw pixels go in), and
    ``proposals`` float32 [1, P, 4] for
    models that take external proposals, and returns the prediction dict
    (docs/design.md, "Predictions"). The file is written atomically, with
    the permissions the umask gives; a model with non-finite weights is refused.

    Args:
        model: a model from ``kzoo.build`` or its reloaded ``.keras`` checkpoint.
        path: output file path.
        quantize: None (float32), ``"float16"`` or ``"int8"`` (full integer).
        representative_data: for int8, an iterable of uint8 images [H, W, 3]
            (a few hundred from the model's dataset).
        class_names: stored in the file's metadata (``kzoo_labels``); by
            default the classes the model learned, when it carries its
            dataset record (``kzoo.training.train``, ``kzoo.load_checkpoint``).
        image_masks: models with a mask head also return
            ``detection_image_masks`` uint8 [1, K, H, W] at the input size.

    Returns:
        ``path``.
    """
    check_finite_weights(model)
    height, width = model_input_size(model)
    predict = make_inference_fn(model, image_masks)
    num_proposals = num_external_proposals(model)
    representative = None
    if representative_data is not None:
        if num_proposals is not None:
            raise ValueError("int8 export of a model with external proposals is not supported yet; use float16")
        if not hasattr(representative_data, "__len__"):
            # The int8 converter reads the images twice (calibration, then range measurement).
            representative_data = list(representative_data)

        def representative():
            for image in representative_data:
                yield [tf.image.resize(tf.cast(image, tf.float32), (height, width))[None]]
        # Calibration needs a float input; the converter turns it into uint8 pixels (pixel_input).
        signature = [tf.TensorSpec((1, height, width, 3), tf.float32, name="images")]
    elif num_proposals is None:
        signature = [tf.TensorSpec((1, height, width, 3), tf.uint8, name="images")]
    else:
        signature = [
            tf.TensorSpec((1, height, width, 3), tf.uint8, name="images"),
            tf.TensorSpec((1, num_proposals, 4), tf.float32, name="proposals"),
        ]
    flatbuffer = convert_callable(predict, signature, quantize, representative, trackable=model,
                                  pixel_input=representative is not None)
    class_names = recorded_class_names(model) if class_names is None else class_names
    if class_names is not None:
        flatbuffer = add_tflite_labels(flatbuffer, class_names)

    def write(staging):
        with open(staging, "wb") as handle:
            handle.write(flatbuffer)

    replace_atomically(write, path)
    return path
