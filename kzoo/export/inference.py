"""The inference graph every export holds: raw pixels in, predictions out.

uint8 images of any size are resized to the model's input size inside the
graph, run through the model, and decoded (softmax, box decoding, NMS, ...)
into the prediction dict (docs/design.md, "Predictions"), so a server or
device needs nothing else.
"""

import tensorflow as tf

from kzoo.export.image_bytes import MAX_PIXELS, within_budget
from kzoo.layers import DetectionDecoder
from kzoo.models.registry import spec_of
from kzoo.ops.mask_pasting import paste_masks

# The image-size masks an export adds when asked (``image_masks=True``), beside the box-relative ones.
IMAGE_MASKS = "detection_image_masks"


def model_input_size(model):
    """(height, width) the model was built for; raises if it is dynamic."""
    inputs = model.inputs
    # Models with external proposals also take proposals: the images set the size.
    images = next((x for x in inputs if x.name == "images"), inputs[0])
    height, width = images.shape[1:3]
    if height is None or width is None:
        raise ValueError(f"model {model.name!r} has a dynamic input size; build it with a fixed input_shape to export")
    return int(height), int(width)


def num_external_proposals(model):
    """P, the proposals per image a model takes as input (R-CNN, Fast R-CNN); None for image-only models."""
    proposals = [x for x in model.inputs if x.name == "proposals"]
    return int(proposals[0].shape[1]) if proposals else None


def score_threshold(model):
    """The score threshold of a detector's decoder, or None for models without one."""
    decoders = [layer for layer in model.layers if isinstance(layer, DetectionDecoder)]
    return decoders[0].score_threshold if decoders else None


def keep_above_threshold(predictions, threshold):
    """Detections scoring below ``threshold`` become padding rows (zeros) and leave ``num_detections``.

    The decoder already drops them in float; a full-integer TFLite file
    compares quantized scores and can keep hundreds of near-zero ones, so the
    graph checks again on its outputs. Detections are sorted by score, so
    the kept ones are the first rows.
    """
    scores = predictions["detection_scores"]
    above = tf.reduce_sum(tf.cast(scores >= threshold, tf.int32), axis=1)
    count = tf.minimum(tf.cast(predictions["num_detections"], tf.int32), above)
    rows = tf.range(tf.shape(scores)[1])[None, :] < count[:, None]
    kept = {"num_detections": tf.cast(count, predictions["num_detections"].dtype)}
    for key, value in predictions.items():
        if key == "num_detections" or not key.startswith("detection_"):
            continue
        mask = tf.reshape(rows, tf.concat([tf.shape(rows), tf.ones([tf.rank(value) - 2], tf.int32)], 0))
        kept[key] = tf.where(mask, value, tf.zeros_like(value))
    return {**predictions, **kept}


def _at_request_size(predictions, size, model_size):
    """Segmentation maps resized from the model's size to the request's (a no-op when they agree)."""
    probs = predictions["segmentation_probs"]
    mask = predictions["segmentation_mask"]
    same = tf.reduce_all(tf.equal(size, model_size))
    probs = tf.cond(same, lambda: probs, lambda: tf.image.resize(probs, size))
    mask = tf.cond(
        same, lambda: mask, lambda: tf.cast(tf.image.resize(mask[..., None], size, method="nearest")[..., 0], mask.dtype)
    )
    return {**predictions, "segmentation_probs": probs, "segmentation_mask": mask}


def make_inference_fn(model, image_masks=False, max_pixels=MAX_PIXELS):
    """Returns ``predict(images, proposals=None)`` -> prediction dict.

    ``images`` are uint8 (or float in [0, 255]) [N, H, W, 3] of any size.
    Models that take external proposals (``num_external_proposals``) also
    need ``proposals`` float32 [N, P, 4], normalized boxes (resizing the
    image leaves them valid), padded with all-zero boxes.

    Rank and channels are checked at run time: a loaded SavedModel signature
    does not enforce its input shape, so serving signatures declare their
    input with unknown rank and rely on these checks for a clear error.

    A detector's outputs are checked against its decoder's score threshold
    once more at the end (``keep_above_threshold``), so no artifact, int8
    included, returns a detection below it.

    Images larger than ``max_pixels`` (height x width) are refused before
    anything is computed. Segmentation maps come back at the request
    images' own size (probabilities resized bilinearly, the mask by nearest
    neighbour).

    With ``image_masks=True`` a model with a mask head also returns
    ``detection_image_masks`` uint8 [N, K, H, W]: its box-relative masks
    pasted into the request's own image size and thresholded at 0.5
    (``kzoo.ops.mask_pasting``, TFLite builtins only).
    """
    decode = spec_of(model).decode
    threshold = score_threshold(model)
    if image_masks and "detection_masks" not in model.output:
        raise ValueError(f"model {model.name!r} predicts no masks; image_masks needs a mask head (mask_rcnn)")
    height, width = model_input_size(model)
    num_proposals = num_external_proposals(model)

    def predict(images, proposals=None):
        images = tf.convert_to_tensor(images)
        # The checks run before anything else touches the request.
        checks = [
            tf.debugging.assert_equal(tf.rank(images), 4, message="images must have rank 4: [N, H, W, 3]"),
            tf.debugging.assert_equal(tf.shape(images)[-1], 3, message="images must have 3 channels (RGB)"),
        ]
        with tf.control_dependencies(checks):
            images = tf.ensure_shape(tf.identity(images), [None, None, None, 3])
        budget = tf.debugging.assert_equal(
            within_budget(tf.shape(images)[1], tf.shape(images)[2], max_pixels), True,
            message=f"image too large: more than {max_pixels} pixels",
        )
        with tf.control_dependencies([budget]):
            images = tf.identity(images)
        if num_proposals is not None:
            if proposals is None:
                raise ValueError(f"model {model.name!r} takes proposals [N, {num_proposals}, 4] with its images")
            # Checked once the images are known to be a batch, so a bad image request names the images.
            proposals = tf.cast(proposals, tf.float32)
            checks = [
                tf.debugging.assert_equal(
                    tf.shape(proposals), [tf.shape(images)[0], num_proposals, 4],
                    message=f"proposals must be [N, {num_proposals}, 4], one row per image (pad with zero boxes)",
                ),
            ]
            with tf.control_dependencies(checks):
                proposals = tf.ensure_shape(tf.identity(proposals), [None, num_proposals, 4])
        pixels = tf.image.resize(tf.cast(images, tf.float32), (height, width))
        # Some kernels mishandle an empty batch (a convolution returns its input
        # unchanged), so an empty request runs on one blank image and the
        # outputs are cut back to zero rows.
        count = tf.shape(pixels)[0]
        pixels = tf.cond(count > 0, lambda: pixels, lambda: tf.zeros([1, height, width, 3]))
        if num_proposals is None:
            outputs = model(pixels, training=False)
        else:
            proposals = tf.cond(count > 0, lambda: proposals, lambda: tf.zeros([1, num_proposals, 4]))
            outputs = model({"images": pixels, "proposals": proposals}, training=False)
        # A mixed-precision model's raw outputs may be float16 or bfloat16: decoding and every export run in float32.
        outputs = tf.nest.map_structure(lambda t: tf.cast(t, tf.float32) if t.dtype.is_floating else t, outputs)
        predictions = decode(model, outputs)
        if threshold is not None:
            predictions = keep_above_threshold(predictions, threshold)
        predictions = {key: value[:count] for key, value in predictions.items()}
        if "segmentation_mask" in predictions:
            predictions = _at_request_size(predictions, tf.shape(images)[1:3], (height, width))
        if image_masks:
            size = tf.shape(images)
            predictions[IMAGE_MASKS] = paste_masks(
                predictions["detection_masks"], predictions["detection_boxes"], size[1], size[2]
            )
        return predictions

    return predict
