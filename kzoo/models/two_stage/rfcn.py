"""R-FCN: region proposals, then position-sensitive score maps with no per-RoI layer."""

import keras

from kzoo.layers import PSRoIHead
from kzoo.models.two_stage import graph
from kzoo.models.two_stage.faster_rcnn import faster_rcnn_parts


def build_rfcn(
    num_classes,
    backbone="tiny",
    input_shape=(128, 128, 3),
    weights=None,
    output_size=7,
    channels=1024,
    rpn=None,
    roi_heads=None,
):
    """R-FCN (Dai et al.): the RPN of Faster R-CNN and a fully convolutional, position-sensitive head.

    The backbone's stride-16 map (as Faster R-CNN's C4 variant) feeds the
    RPN and, through a 1x1 reduction, two 1x1 convolutions that give
    ``k * k`` position-sensitive score maps per class (plus background) and
    ``k * k * 4`` class-agnostic box maps for the whole image. A proposal is
    cut into ``k x k`` bins, each bin pools only its own position's maps,
    and the bins vote (average) for the class scores and box deltas: the
    RoI-wise subnetwork has depth 0, so more proposals cost almost nothing
    (``PSRoIHead``).

    Args:
        num_classes: object classes (no background).
        backbone, input_shape, weights: as ``build_faster_rcnn``.
        output_size: k, bins per side (7).
        channels: the 1x1 reduction before the score maps (1024; 0 for none).
        rpn: ``RPNSettings`` (or a dict of its fields); C4 anchors by default.
        roi_heads: ``RoIHeadSettings``; R-FCN reads only its decoding fields
            (``box_weights``, ``score_threshold``, ``iou_threshold``,
            ``max_detections``).

    Returns:
        A functional ``keras.Model`` named ``"rfcn"`` mapping images to the
        detection dict.

    Reference:
        Dai, Li, He and Sun, "R-FCN: Object Detection via Region-based Fully
        Convolutional Networks", NeurIPS 2016.
    """
    head = PSRoIHead(num_classes, output_size, channels, name=graph.BOX_HEAD)
    parts = faster_rcnn_parts(num_classes, backbone, input_shape, weights, "c4", 0, rpn, roi_heads, box_head=head)
    images = keras.Input(input_shape, name="images")
    return keras.Model(images, graph.inference_graph(parts, images), name="rfcn")
