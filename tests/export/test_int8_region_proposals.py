"""Full-integer (int8) TFLite: the RPN's proposal step agrees with float, and calibration ranges are right.

Three faults made int8 region-based detectors (Faster R-CNN, R-FCN, Mask
R-CNN, keypoint R-CNN) find nothing, then mislocalize:

- the proposal scores entering NMS mixed sigmoid scores in [0, 1] with a -1
  marker and NMS's -inf sentinel: the quantizer could give the whole tensor
  the sentinel's range (scale ~1e36), every score dequantized to 0, and NMS
  (score > 0) kept no proposal;
- the box deltas were split by UNPACK, whose one shared int8 scale the
  quantizer took from a single component (clamping the others);
- TFLite's calibrator records an op's input with the op's output range when
  the op runs in place (tensorflow/tensorflow#127842): a box height in [0, 1]
  times a map size of 32 got the range [0, 32], so small heights became 0.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from kzoo.export.tflite_convert import convert_callable
from kzoo.layers import AnchorGenerator, RegionProposals
from kzoo.ops import boxes as box_ops
from tests.helpers import assert_builtin_ops_only

SIZE = 64
STRIDE = 8


def _iou(a, b):
    return box_ops.pairwise_iou(tf.constant(a, tf.float32), tf.constant(b, tf.float32)).numpy()


def _images(count, seed):
    """Dark noisy images, each with 1-3 bright squares of one or two cells."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 40, (count, SIZE, SIZE, 3)).astype(np.float32)
    for image in images:
        for _ in range(rng.integers(1, 4)):
            side = STRIDE * rng.integers(1, 3)
            y, x = rng.integers(0, SIZE - side, 2)
            image[y:y + side, x:x + side] = rng.uniform(200, 255)
    return images


def _proposal_model():
    """A tiny RPN: a conv scores each 8 x 8 cell by its brightness and regresses small deltas.

    The anchors come from ``AnchorGenerator`` on the image, as in the
    detectors (the converter folds them into a constant). A second proposal
    layer reads the same RPN outputs, as a detector's second NMS does: with
    the old -1 / -inf sentinels the two shared those constants once
    converted, and the quantizer gave the second layer's scores the
    sentinels' range (scale ~1e36) and no proposal survived.

    Returns:
        ``(model, reference)``: the model to convert (the first layer's
        proposals and scores, the second layer's proposals; its scores go
        unused, as the detectors leave them) and a float model returning all four.
    """
    images = keras.Input((SIZE, SIZE, 3))
    cells = keras.layers.AveragePooling2D(STRIDE)(images)  # [N, 8, 8, 3]
    objectness_conv = keras.layers.Conv2D(3, 1)
    deltas_conv = keras.layers.Conv2D(12, 1)
    objectness = keras.layers.Reshape((-1,))(objectness_conv(cells))
    deltas = keras.layers.Reshape((-1, 4))(deltas_conv(cells))
    anchors = AnchorGenerator(strides=(STRIDE,), sizes=(STRIDE,), scales=(1.0, 2.0, 3.0), aspect_ratios=(1.0,))(
        images
    )
    # min_size drops every one-cell anchor, so the scores also hold the small-box marker.
    first = RegionProposals(pre_nms_top_k=150, post_nms_top_k=20, iou_threshold=0.7, min_size=0.15)(
        [objectness, deltas, anchors]
    )
    second = RegionProposals(pre_nms_top_k=100, post_nms_top_k=30, iou_threshold=0.5)([objectness, deltas, anchors])
    model = keras.Model(images, [*first, second[0]])
    reference = keras.Model(images, [*first, *second])
    # Logit = 16 * brightness - 8 (bright cells near +8, dark ones near -7), the anchor scales a little apart.
    objectness_conv.set_weights([np.full((1, 1, 3, 3), 16.0 / (3 * 255), np.float32),
                                 np.array([-8.0, -8.5, -9.0], np.float32)])
    rng = np.random.default_rng(0)
    deltas_conv.set_weights([rng.normal(0, 0.1 / 255, (1, 1, 3, 12)).astype(np.float32),
                             rng.normal(0, 0.05, 12).astype(np.float32)])
    return model, reference


def _run(flatbuffer, image):
    """The TFLite outputs of one image, in the model's output order (``output_0``, ``output_1``, ...)."""
    out = Interpreter(model_content=flatbuffer).get_signature_runner()(images=image[None])
    return [out[key][0] for key in sorted(out)]


@pytest.fixture(scope="module")
def converted():
    model, reference = _proposal_model()

    def representative():
        for image in _images(30, seed=1):
            yield [image[None]]

    signature = [tf.TensorSpec((1, SIZE, SIZE, 3), tf.float32, name="images")]
    flatbuffers = {
        quantize: convert_callable(lambda images: model(images), signature, quantize,
                                   representative if quantize else None, trackable=model)
        for quantize in (None, "int8")
    }
    return reference, flatbuffers


def test_int8_proposals_match_float(converted):
    reference, flatbuffers = converted
    assert_builtin_ops_only(flatbuffers["int8"])
    for image in _images(5, seed=2):
        first_boxes, first_scores, second_boxes, second_scores = (t.numpy()[0] for t in reference(image[None]))
        # The float file is the Keras model (padding rows, scored 0, are never selected by TFLite's NMS either).
        for got, want in zip(_run(flatbuffers[None], image), (first_boxes, first_scores, second_boxes)):
            np.testing.assert_allclose(got, want, atol=1e-5)
        boxes, scores, boxes_2 = _run(flatbuffers["int8"], image)
        # Layer 1 (NMS at 0.7): the proposals of confident anchors (the bright squares) are all there, to
        # within int8 error; none is invented; scores agree to a few 1/256 steps; padding is all zeros.
        real = box_ops.area(boxes).numpy() > 0
        confident = first_scores > 0.5
        assert confident.any() and real.sum() >= confident.sum()
        best = _iou(first_boxes[confident], boxes[real]).max(axis=1)
        assert best.min() > 0.85, best
        int8_confident = scores > 0.5
        assert _iou(boxes[int8_confident], first_boxes[first_scores > 0.3]).max(axis=1).min() > 0.85
        count = min(confident.sum(), int8_confident.sum())
        np.testing.assert_allclose(np.sort(scores[int8_confident])[::-1][:count],
                                   np.sort(first_scores[confident])[::-1][:count], atol=0.05)
        assert not scores[~real].any() and not boxes[~real].any()
        # Layer 2 (NMS at 0.5, scores unused): its confident proposals are there too. Near-equal int8 scores
        # may let NMS keep a neighbour instead, one that overlaps the float box by more than 0.5.
        real_2 = box_ops.area(boxes_2).numpy() > 0
        confident_2 = second_scores > 0.5
        assert real_2.sum() >= confident_2.sum() > 0
        assert _iou(second_boxes[confident_2], boxes_2[real_2]).max(axis=1).min() > 0.5


def test_proposal_scores_stay_in_the_sigmoid_range(converted):
    # No sentinel outside [0, 1] (the old -1 and -inf) reaches the scores NMS reads, in float...
    _, flatbuffers = converted
    interpreter = Interpreter(model_content=flatbuffers[None], experimental_preserve_all_tensors=True,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], _images(1, seed=3))
    interpreter.invoke()
    nms = [op for op in interpreter._get_ops_details() if op["op_name"] == "NON_MAX_SUPPRESSION_V5"]
    assert len(nms) == 2
    for op in nms:
        scores = interpreter.get_tensor(op["inputs"][1])
        assert scores.min() >= 0.0 and scores.max() <= 1.0
    # ... so that in int8 every tensor of the proposal step keeps a sane scale (it was ~1e36).
    scales = [t["quantization"][0] for t in Interpreter(model_content=flatbuffers["int8"]).get_tensor_details()
              if "region_proposals" in t["name"]]
    assert scales and max(scales) < 1.0, max(scales)


def test_calibration_ranges_survive_in_place_ops():
    # Box sizes in [0, 1] multiplied by map sizes, as RoIAlign and the FPN level of a box do: TFLite runs such
    # products in place, and the old calibration gave (height * 128) the range of (height * 128 * width)
    # (up to 16384, scale 64), so every area, and its square root, came out 0.
    def fn(boxes):
        height = boxes[..., 2] - boxes[..., 0]
        width = boxes[..., 3] - boxes[..., 1]
        return tf.stack([height * 32.0, tf.sqrt(height * 128.0 * width * 128.0)], axis=-1)

    rng = np.random.default_rng(0)

    def sample():
        low = rng.uniform(0, 0.5, (1, 50, 2))
        return np.concatenate([low, low + rng.uniform(0.02, 0.5, (1, 50, 2))], -1).astype(np.float32)

    def representative():
        for _ in range(20):
            yield [sample()]

    signature = [tf.TensorSpec((1, 50, 4), tf.float32, name="boxes")]
    flatbuffer = convert_callable(fn, signature, "int8", representative)
    boxes = sample()
    want = fn(tf.constant(boxes)).numpy()
    got = Interpreter(model_content=flatbuffer).get_signature_runner()(boxes=boxes)
    got = next(iter(got.values()))
    # Output scales are about 16/255 and 128/255: errors of a few steps at most (it was ~30 on the root).
    assert np.abs(got[..., 0] - want[..., 0]).max() < 0.4
    assert np.abs(got[..., 1] - want[..., 1]).max() < 1.5
