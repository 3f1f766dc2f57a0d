"""Full-integer (int8) TFLite: the RPN's proposal step agrees with float, and calibration ranges are right.

Two faults made every int8 region-based detector (Faster R-CNN, R-FCN, Mask
R-CNN, keypoint R-CNN) find nothing, then mislocalize:

- the proposal scores entering NMS were a tensor mixing sigmoid scores in
  [0, 1] with a -1 marker and NMS's -inf sentinel: the quantizer gave the
  whole tensor the sentinel's range (scale ~1e36), every score dequantized to
  0, and NMS (score > 0) kept no proposal;
- TFLite's calibrator records an op's input with the op's output range when
  the op runs in place (tensorflow/tensorflow#127842): a box height in [0, 1]
  times a map size of 32 got the range [0, 32], so small heights became 0.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

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
    detectors (the converter folds them into a constant).
    """
    images = keras.Input((SIZE, SIZE, 3))
    cells = keras.layers.AveragePooling2D(STRIDE)(images)  # [N, 8, 8, 3]
    rng = np.random.default_rng(0)
    objectness_conv = keras.layers.Conv2D(3, 1)
    deltas_conv = keras.layers.Conv2D(12, 1)
    objectness = keras.layers.Reshape((-1,))(objectness_conv(cells))
    deltas = keras.layers.Reshape((-1, 4))(deltas_conv(cells))
    anchors = AnchorGenerator(strides=(STRIDE,), sizes=(STRIDE,), scales=(1.0, 2.0, 3.0), aspect_ratios=(1.0,))(
        images
    )
    proposals, scores = RegionProposals(pre_nms_top_k=150, post_nms_top_k=20, iou_threshold=0.7, min_size=0.15)(
        [objectness, deltas, anchors]
    )
    model = keras.Model(images, [proposals, scores])
    # Logit = 16 * brightness - 8 (bright cells near +8, dark ones near -7), per anchor scale a little apart.
    objectness_conv.set_weights([np.full((1, 1, 3, 3), 16.0 / (3 * 255), np.float32),
                                 np.array([-8.0, -8.5, -9.0], np.float32)])
    deltas_conv.set_weights([rng.normal(0, 0.1 / 255, (1, 1, 3, 12)).astype(np.float32),
                             rng.normal(0, 0.05, 12).astype(np.float32)])
    return model


def _run(flatbuffer, image):
    runner = Interpreter(model_content=flatbuffer).get_signature_runner()
    out = runner(images=image[None])
    boxes, scores = (out[key][0] for key in sorted(out))
    return boxes, scores


@pytest.fixture(scope="module")
def int8_proposals():
    model = _proposal_model()

    def representative():
        for image in _images(30, seed=1):
            yield [image[None]]

    signature = [tf.TensorSpec((1, SIZE, SIZE, 3), tf.float32, name="images")]
    flatbuffer = convert_callable(lambda images: model(images), signature, "int8", representative, trackable=model)
    return model, flatbuffer


def test_int8_proposals_match_float(int8_proposals):
    model, flatbuffer = int8_proposals
    assert_builtin_ops_only(flatbuffer)
    for image in _images(5, seed=2):
        float_boxes, float_scores = (t.numpy()[0] for t in model(image[None]))
        boxes, scores = _run(flatbuffer, image)
        real = box_ops.area(boxes).numpy() > 0
        # The proposals of confident anchors (the bright squares) are all there, within int8 error (~1/255).
        confident = float_scores > 0.5
        assert confident.any() and real.sum() >= confident.sum()
        best = _iou(float_boxes[confident], boxes[real]).max(axis=1)
        assert best.min() > 0.85, best
        # And the int8 file invents no confident proposal that float lacks.
        int8_confident = scores > 0.5
        assert _iou(boxes[int8_confident], float_boxes[float_scores > 0.3]).max(axis=1).min() > 0.85
        np.testing.assert_allclose(np.sort(scores[int8_confident])[::-1][:confident.sum()],
                                   np.sort(float_scores[confident])[::-1][:int8_confident.sum()], atol=0.05)
        # Padding rows stay all-zero boxes with score 0.
        assert not scores[~real].any() and not boxes[~real].any()


def test_int8_scores_keep_the_sigmoid_scale(int8_proposals):
    # Every quantized tensor of the proposal step has a sane scale: none was stretched by a sentinel.
    _, flatbuffer = int8_proposals
    interpreter = Interpreter(model_content=flatbuffer)
    scales = [t["quantization"][0] for t in interpreter.get_tensor_details() if "region_proposals" in t["name"]
              or "proposals" in t["name"]]
    assert scales and max(scales) < 1.0, max(scales)


def test_calibration_ranges_survive_in_place_ops():
    # (ymax - ymin) in [0, 1] is consumed only by a multiplication by 32, which TFLite may run in place;
    # its calibrated range must stay [0, 1] (scale 1/255), not the product's [0, 32] (scale 0.125).
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
    # Output scales are 32/255 and 64/255: errors of a few steps at most (a contaminated input range gives ~2).
    assert np.abs(got[..., 0] - want[..., 0]).max() < 0.4
    assert np.abs(got[..., 1] - want[..., 1]).max() < 1.5
