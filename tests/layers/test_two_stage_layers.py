"""The region-based detectors' layers through the standard layer checks (config, shapes, .keras, fit, TFLite)."""

import numpy as np

from kzoo.layers import (
    RCNNHead,
    RCNNPostHocLosses,
    RegionProposals,
    RoIBoxHead,
    RoIHeadLosses,
    RoISampler,
    RPNHead,
    RPNLosses,
    WarpedRegions,
)
from kzoo.ops import anchors as anchor_ops
from tests.helpers import check_layer

RNG = np.random.default_rng(0)
GT_BOXES = np.array([[[0.1, 0.1, 0.5, 0.4], [0.0, 0.0, 0.0, 0.0]], [[0.3, 0.2, 0.9, 0.9], [0.5, 0.5, 0.8, 0.7]]],
                    np.float32)
GT_CLASSES = np.array([[1, -1], [0, 2]], np.int32)


def _boxes(n, p):
    return np.sort(RNG.uniform(0, 1, (n, p, 2, 2)), axis=2).reshape(n, p, 4).astype(np.float32)


def _anchors(n=2):
    anchors = anchor_ops.pyramid_anchors(32, 32, (8, 16), (16, 32), (1.0,), (0.5, 1.0, 2.0)).numpy()
    return np.broadcast_to(anchors, (n,) + anchors.shape).copy()


def test_rpn_head_on_two_levels():
    maps = [RNG.normal(size=(2, 4, 4, 8)).astype(np.float32), RNG.normal(size=(2, 2, 2, 8)).astype(np.float32)]
    check_layer(RPNHead, {"anchors_per_location": 3, "num_channels": 16}, maps,
                expected_output_shapes=[(2, 60), (2, 60, 4)])


def test_region_proposals():
    anchors = _anchors()
    inputs = [RNG.normal(size=anchors.shape[:2]).astype(np.float32),
              RNG.normal(0, 0.1, anchors.shape).astype(np.float32), anchors]
    check_layer(RegionProposals, {"pre_nms_top_k": 30, "post_nms_top_k": 10, "iou_threshold": 0.6}, inputs,
                expected_output_shapes=[(2, 10, 4), (2, 10)], fit=False)


def test_roi_box_head():
    check_layer(RoIBoxHead, {"num_classes": 3, "representation_size": 16}, RNG.normal(size=(2, 5, 7, 7, 4)).astype(
        np.float32), expected_output_shapes=[(2, 5, 4), (2, 5, 3, 4)])


def test_warped_regions():
    images = RNG.uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    check_layer(WarpedRegions, {"output_size": 8}, [images, _boxes(2, 3)], expected_output_shapes=[(6, 8, 8, 3)],
                fit=False)


def test_rcnn_head():
    # Features of N * P regions and the proposals that give P: batch sizes differ, so no fit step here.
    check_layer(RCNNHead, {"num_classes": 3, "representation_size": 8},
                [RNG.normal(size=(6, 2, 2, 4)).astype(np.float32), _boxes(2, 3)],
                expected_output_shapes=[(2, 3, 4), (2, 3, 3), (2, 3, 3, 4)], fit=False, tflite=False)


def test_training_graph_layers_round_trip():
    anchors = _anchors()
    proposals = _boxes(2, 12)
    check_layer(RPNLosses, {"num_samples": 16, "seed": 1},
                [RNG.normal(size=anchors.shape[:2]).astype(np.float32), RNG.normal(0, 0.1, anchors.shape).astype(
                    np.float32), anchors, GT_BOXES, GT_CLASSES], expected_output_shapes=[(2,), (2,)], fit=False,
                tflite=False)
    sample = check_layer(RoISampler, {"num_samples": 8, "seed": 1}, [proposals, GT_BOXES, GT_CLASSES],
                         expected_output_shapes=[(2, 8, 4), (2, 8), (2, 8), (2, 8, 4)], fit=False, tflite=False)
    # Outputs come sorted by key: box_targets, labels, matches, rois.
    box_targets, labels, _, _ = sample
    check_layer(RoIHeadLosses, {}, [RNG.normal(size=(2, 8, 4)).astype(np.float32),
                                    RNG.normal(size=(2, 8, 3, 4)).astype(np.float32), labels, box_targets],
                expected_output_shapes=[(2,), (2,)], fit=False, tflite=False)
    box_targets, labels, matches, rois = sample
    check_layer(RCNNPostHocLosses, {"min_negatives": 2},
                [RNG.normal(size=(2, 8, 3)).astype(np.float32), RNG.normal(size=(2, 8, 3, 4)).astype(np.float32),
                 labels, box_targets, rois, matches, GT_BOXES], expected_output_shapes=[(2,), (2,)],
                fit=False, tflite=False)
