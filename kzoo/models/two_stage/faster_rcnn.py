"""Faster R-CNN: a Region Proposal Network and a Fast R-CNN head on one backbone (C4 or FPN)."""

import keras

from kzoo.backbones import build_backbone
from kzoo.layers import AnchorGenerator, FeaturePyramid, RegionProposals, RPNHead
from kzoo.models.two_stage import graph
from kzoo.models.two_stage.roi_heads import box_head_layer, roi_pool_layer, two_stage_decoder
from kzoo.models.two_stage.settings import RoIHeadSettings, RPNSettings, TrainingSettings, settings_from

VARIANTS = ("fpn", "c4")
# FPN: RPN on P2-P6 (P6 a subsampled P5), RoIs on P2-P5 by size (Lin et al.).
FPN_RPN_LEVELS = (2, 6)
C4_STRIDE = 16


def _anchor_generator(variant, rpn):
    if variant == "fpn":
        strides = tuple(2**level for level in range(FPN_RPN_LEVELS[0], FPN_RPN_LEVELS[1] + 1))
        sizes = rpn.anchor_sizes or tuple(4 * s for s in strides)
        scales = rpn.anchor_scales or (1.0,)
    else:
        strides = (C4_STRIDE,)
        sizes = rpn.anchor_sizes or (16,)
        scales = rpn.anchor_scales or (1.0, 2.0, 4.0)
    if len(sizes) != len(strides):
        raise ValueError(f"anchor_sizes needs one size per RPN level {strides}, got {sizes}")
    return AnchorGenerator(strides, sizes, scales, rpn.aspect_ratios, name=graph.ANCHORS)


def build_faster_rcnn(
    num_classes,
    backbone="tiny",
    input_shape=(128, 128, 3),
    weights=None,
    variant="fpn",
    fpn_channels=256,
    rpn=None,
    roi_heads=None,
):
    """Faster R-CNN (Ren et al.): proposals from a Region Proposal Network, then Fast R-CNN.

    A backbone gives feature maps; a small network slides over them and,
    at every location, scores ``A`` anchors as object or not and regresses
    their boxes (the RPN). The best-scoring decoded anchors go through NMS
    and become proposals; each proposal's features are pooled to a fixed
    grid (RoIAlign, or RoI max pooling) and a fully connected head classifies
    it over C + 1 classes and refines its box per class. Everything runs in
    one graph: the model maps images to detections.

    Two variants:

    - ``"fpn"``: a feature pyramid P2-P6 (Lin et al.); the RPN runs on every
      level with one anchor size per level and 3 aspect ratios, and each RoI
      is pooled from the level that suits its size.
    - ``"c4"``: one stride-16 map (the backbone's P4) feeds the RPN, with
      3 scales x 3 aspect ratios per location, and the RoI head.

    Training builds its own graph from the same layers
    (``faster_rcnn_training_model``): RPN targets, proposals, RoI sampling
    and the four losses of the lecture, in one pass of the backbone.

    Args:
        num_classes: object classes (no background).
        backbone: a name from ``kzoo.backbones.list_backbones()``.
        input_shape: (H, W, 3) of float RGB images in [0, 255]; fixed, since
            the anchors depend on it.
        weights: backbone weights (None, ``"imagenet"`` or a file path).
        variant: ``"fpn"`` or ``"c4"``.
        fpn_channels: channels of the pyramid (FPN variant).
        rpn: ``RPNSettings`` (or a dict of its fields); defaults when None.
        roi_heads: ``RoIHeadSettings`` (or a dict of its fields).

    Returns:
        A functional ``keras.Model`` named ``"faster_rcnn"`` mapping images
        to the detection dict (``detection_boxes``, ``detection_scores``,
        ``detection_classes``, ``num_detections``).

    Reference:
        Ren, He, Girshick and Sun, "Faster R-CNN: Towards Real-Time Object
        Detection with Region Proposal Networks", NeurIPS 2015; Lin et al.,
        "Feature Pyramid Networks for Object Detection", CVPR 2017.
    """
    parts = faster_rcnn_parts(num_classes, backbone, input_shape, weights, variant, fpn_channels, rpn, roi_heads)
    images = keras.Input(input_shape, name="images")
    return keras.Model(images, graph.inference_graph(parts, images), name="faster_rcnn")


def faster_rcnn_parts(
    num_classes, backbone, input_shape, weights, variant, fpn_channels, rpn, roi_heads, box_head=None
):
    """The ``TwoStageParts`` of a Faster R-CNN (``build_faster_rcnn``'s arguments).

    Models built on Faster R-CNN add their heads to these parts: Mask
    R-CNN's mask and keypoint heads, R-FCN's ``box_head`` (which pools for
    itself, so the parts then have no ``roi_pool``).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    height, width = input_shape[:2]
    if height is None or width is None:
        raise ValueError("region-based detectors need a fixed input size: their anchors depend on it")
    rpn = settings_from(rpn, RPNSettings)
    roi_heads = settings_from(roi_heads, RoIHeadSettings)

    anchors = _anchor_generator(variant, rpn)
    neck = None
    if variant == "fpn":
        neck = FeaturePyramid(fpn_channels, FPN_RPN_LEVELS[0], FPN_RPN_LEVELS[1], "pool", name=graph.NECK)
    if variant == "c4":
        features = graph.single_level_backbone(backbone, input_shape, weights, f"P{C4_STRIDE.bit_length() - 1}")
    else:
        features = build_backbone(backbone, input_shape, weights=weights)
    return graph.TwoStageParts(
        backbone=features,
        neck=neck,
        rpn_head=RPNHead(anchors.anchors_per_location, rpn.num_channels, name=graph.RPN_HEAD),
        anchors=anchors,
        proposals=RegionProposals(rpn.pre_nms_top_k, rpn.post_nms_top_k, rpn.iou_threshold, name=graph.PROPOSALS),
        roi_pool=None if box_head is not None else roi_pool_layer(variant, roi_heads, (height, width)),
        box_head=box_head if box_head is not None else box_head_layer(num_classes, roi_heads),
        decoder=two_stage_decoder(num_classes, roi_heads),
        feature_level=f"P{C4_STRIDE.bit_length() - 1}",
    )


def faster_rcnn_training_model(model, settings=None):
    """The training graph of a model with an RPN, sharing its layers and weights.

    Serves Faster R-CNN, R-FCN, Mask R-CNN and keypoint R-CNN: the graph
    takes the ground truth that the model's heads train on.

    Args:
        model: from ``build_faster_rcnn`` (or ``build_rfcn``,
            ``build_mask_rcnn``, ``build_keypoint_rcnn``), or a reloaded checkpoint.
        settings: ``TrainingSettings`` (or a dict of its fields); defaults when None.

    Returns:
        A functional ``keras.Model`` mapping ``{"images", "gt_boxes",
        "gt_classes"}`` (ground truth padded with class -1; plus ``gt_masks``
        uint8 [M, H, W] for a mask head and ``gt_keypoints`` [M, J, 3] for a
        keypoint head) to per-image ``rpn_objectness``, ``rpn_box``,
        ``roi_class`` and ``roi_box`` losses (and ``mask``, ``keypoint``).
    """
    parts = graph.TwoStageParts.from_model(model)
    image_shape = tuple(model.input_shape[1:])
    inputs = {
        "images": keras.Input(image_shape, name="images"),
        "gt_boxes": keras.Input((None, 4), name="gt_boxes"),
        "gt_classes": keras.Input((None,), dtype="int32", name="gt_classes"),
    }
    if parts.mask_head is not None:
        inputs["gt_masks"] = keras.Input((None, *image_shape[:2]), dtype="uint8", name="gt_masks")
    if parts.keypoint_head is not None:
        joints = parts.keypoint_head.num_outputs
        inputs["gt_keypoints"] = keras.Input((None, joints, 3), name="gt_keypoints")
    losses = graph.training_graph(parts, inputs, settings_from(settings, TrainingSettings))
    return keras.Model(inputs, losses, name=f"{model.name}_training")
