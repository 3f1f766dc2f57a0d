"""Mask R-CNN: Faster R-CNN with a mask head, or a keypoint head (multi-person pose)."""

import dataclasses

import keras

from kzoo.layers import KeypointDecoder, MaskDecoder, RoIConvHead
from kzoo.models.two_stage import graph
from kzoo.models.two_stage.faster_rcnn import faster_rcnn_parts
from kzoo.models.two_stage.roi_heads import roi_pool_layer
from kzoo.models.two_stage.settings import KeypointHeadSettings, MaskHeadSettings, RoIHeadSettings, settings_from


def _head_pool(variant, settings, input_shape, name):
    pooling = RoIHeadSettings(output_size=settings.output_size, sampling_ratio=settings.sampling_ratio)
    pool = roi_pool_layer(variant, pooling, tuple(input_shape[:2]))
    config = pool.get_config()
    config["name"] = name
    return type(pool).from_config(config)


def build_mask_rcnn(
    num_classes,
    backbone="tiny",
    input_shape=(128, 128, 3),
    weights=None,
    variant="fpn",
    fpn_channels=256,
    rpn=None,
    roi_heads=None,
    mask_head=None,
):
    """Mask R-CNN (He et al.): Faster R-CNN plus a small fully convolutional mask per detection.

    Faster R-CNN (``build_faster_rcnn``, FPN by default) detects; then each
    detection's features are pooled by RoIAlign to 14x14 from its FPN level,
    go through four 3x3 convolutions and a 2x2 transposed convolution to
    28x28, and a 1x1 convolution gives one mask per class. The detection
    keeps the mask of its own class, through a sigmoid. While training, the
    mask head runs on the positive RoIs and only the channel of each RoI's
    ground-truth class is trained (binary cross-entropy against the matched
    mask cropped to the RoI, ``training_model``).

    Args:
        num_classes: object classes (no background).
        backbone, input_shape, weights, variant, fpn_channels, rpn, roi_heads:
            as ``build_faster_rcnn``.
        mask_head: ``MaskHeadSettings`` (or a dict of its fields).

    Returns:
        A functional ``keras.Model`` named ``"mask_rcnn"`` mapping images to
        the detection dict plus ``detection_masks`` float32 [N, K, 28, 28]
        (probabilities relative to each detection's box; paste them into the
        image with ``kzoo.ops.mask_pasting.paste_masks``).

    Reference:
        He, Gkioxari, Dollár and Girshick, "Mask R-CNN", ICCV 2017.
    """
    settings = settings_from(mask_head, MaskHeadSettings)
    parts = faster_rcnn_parts(num_classes, backbone, input_shape, weights, variant, fpn_channels, rpn, roi_heads)
    parts = dataclasses.replace(
        parts,
        mask_pool=_head_pool(variant, settings, input_shape, graph.MASK_POOL),
        mask_head=RoIConvHead(
            num_classes if settings.class_specific else 1, settings.num_convs, settings.channels, upsampling=2,
            name=graph.MASK_HEAD,
        ),
        mask_decoder=MaskDecoder(name=graph.MASK_DECODER),
    )
    images = keras.Input(input_shape, name="images")
    return keras.Model(images, graph.inference_graph(parts, images), name="mask_rcnn")


def build_keypoint_rcnn(
    num_classes=1,
    num_keypoints=14,
    backbone="tiny",
    input_shape=(128, 128, 3),
    weights=None,
    variant="fpn",
    fpn_channels=256,
    rpn=None,
    roi_heads=None,
    keypoint_head=None,
):
    """Keypoint R-CNN (Mask R-CNN for pose): a heatmap per joint for every detected person.

    Faster R-CNN detects the people; each detection's features are pooled by
    RoIAlign to 14x14, go through eight 3x3 convolutions, a transposed
    convolution to 28x28 and a bilinear upsampling to 56x56, with one
    heatmap per joint. A joint is the most probable cell of its heatmap (a
    softmax over the cells, as it trains: cross-entropy against the one cell
    holding the visible ground-truth joint).

    Args:
        num_classes: object classes (1: person).
        num_keypoints: J, joints per person (14 for ``stick_figures``, 17 for COCO).
        backbone, input_shape, weights, variant, fpn_channels, rpn, roi_heads:
            as ``build_faster_rcnn``.
        keypoint_head: ``KeypointHeadSettings`` (or a dict of its fields).

    Returns:
        A functional ``keras.Model`` named ``"keypoint_rcnn"`` mapping images
        to the detection dict plus ``detection_keypoints`` float32
        [N, K, J, 2] normalized ``(y, x)`` and ``detection_keypoint_scores``
        float32 [N, K, J].

    Reference:
        He, Gkioxari, Dollár and Girshick, "Mask R-CNN", ICCV 2017 (section 5).
    """
    if int(num_keypoints) < 1:
        raise ValueError(f"num_keypoints must be at least 1, got {num_keypoints}")
    settings = settings_from(keypoint_head, KeypointHeadSettings)
    parts = faster_rcnn_parts(num_classes, backbone, input_shape, weights, variant, fpn_channels, rpn, roi_heads)
    parts = dataclasses.replace(
        parts,
        keypoint_pool=_head_pool(variant, settings, input_shape, graph.KEYPOINT_POOL),
        keypoint_head=RoIConvHead(
            int(num_keypoints), settings.num_convs, settings.channels, upsampling=4, name=graph.KEYPOINT_HEAD
        ),
        keypoint_decoder=KeypointDecoder(name=graph.KEYPOINT_DECODER),
    )
    images = keras.Input(input_shape, name="images")
    return keras.Model(images, graph.inference_graph(parts, images), name="keypoint_rcnn")
