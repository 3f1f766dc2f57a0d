"""SSD: default boxes on several feature maps, softmax classes, multibox loss with hard negatives."""

import math

import keras
from keras import layers

from kzoo.backbones import build_backbone
from kzoo.layers import DefaultBoxes, DetectionDecoder
from kzoo.layers.fused_batch_normalization import FusedBatchNormalization
from kzoo.losses import SmoothL1Loss
from kzoo.metrics.replica_usage import ReplicaUsage
from kzoo.models.detection import targets as target_ops
from kzoo.models.detection.multibox_loss import HardNegativeSoftmaxLoss
from kzoo.ops import anchors as anchor_ops
from kzoo.optimizers import FusedAdam

# Backbone levels P3-P5, then extra feature layers P6 and P7, each halving the map.
LEVELS = ("P3", "P4", "P5", "P6", "P7")
STRIDES = (8, 16, 32, 64, 128)
# SSD300's pattern: 4 default boxes on the first and last levels, 6 in between.
ASPECT_RATIOS = (
    (1.0, 2.0, 0.5),
    (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0),
    (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0),
    (1.0, 2.0, 0.5),
    (1.0, 2.0, 0.5),
)
# Scales from 0.1 of the image (the paper uses 0.2 on PASCAL and 0.15 on COCO and
# notes that a smaller s_min helps small objects; kzoo's objects start near 0.1).
MIN_SCALE, MAX_SCALE = 0.1, 0.9
# SSD's variances (0.1, 0.2) as box-coding weights.
BOX_WEIGHTS = (10.0, 10.0, 5.0, 5.0)
# Each box is matched to its best default box, and any default box to a box it overlaps >= 0.5.
MATCH_IOU = 0.5


def boxes_per_location():
    """Default boxes at each location of each level (one per ratio, plus the extra square)."""
    return [len(ratios) + 1 for ratios in ASPECT_RATIOS]


def feature_shapes(image_size):
    """(rows, columns) of each level for images of ``image_size`` ("same" padding: ceil(size / stride))."""
    height, width = (int(s) for s in image_size)
    return [(math.ceil(height / s), math.ceil(width / s)) for s in STRIDES]


def ssd_default_boxes(image_size):
    """float32 [A, 4] default boxes of an SSD for images of ``image_size`` (height, width).

    The targets use them; the model decodes with its own ``"default_boxes"``
    layer (``kzoo.layers.DefaultBoxes``), built with the same settings.
    """
    return anchor_ops.ssd_default_boxes(feature_shapes(image_size), MIN_SCALE, MAX_SCALE, ASPECT_RATIOS)


def build_ssd(
    num_classes,
    backbone="tiny",
    input_shape=(128, 128, 3),
    weights=None,
    extra_channels=256,
    score_threshold=0.05,
    iou_threshold=0.45,
    max_detections=100,
    pre_nms_top_k=1000,
):
    """SSD (Liu et al.): one network from image to boxes on a pyramid of feature maps.

    The backbone's stride 8, 16 and 32 maps and two extra feature layers
    (1x1 then 3x3 stride-2 convolutions, strides 64 and 128) each get their
    own 3x3 convolutional predictors: at every location, for each of its
    default boxes, ``C + 1`` class scores (background first) and 4 box
    offsets. Default boxes have scales spread linearly from ``MIN_SCALE`` to
    ``MAX_SCALE`` over the levels and aspect ratios ``ASPECT_RATIOS``.

    The model decodes inside its graph: a ``DefaultBoxes`` layer
    (``"default_boxes"``) gives the default boxes of the input size and a
    ``DetectionDecoder`` (``"detections"``) takes softmax scores without the
    background, the ``pre_nms_top_k`` best (box, class) pairs, decodes their
    boxes and runs per-class NMS. Both layers' configs hold every setting,
    so a reloaded checkpoint decodes as it was built. ``fit`` trains the raw
    outputs (``kzoo.models.detection.raw_outputs_model``).

    Args:
        num_classes: number of object classes (no background).
        backbone: a name from ``kzoo.backbones.list_backbones()`` with
            "same"-padded levels (``tiny``, ``vgg16``, ``resnet50``,
            ``mobilenet_v2``, ...).
        input_shape: (H, W, 3) of float RGB images in [0, 255].
        weights: backbone weights (None, ``"imagenet"`` or a file path).
        extra_channels: channels of the extra feature layers (SSD300: 256 to 512).
        score_threshold: detections must score above this (0.05).
        iou_threshold: per-class NMS IoU (0.45, as the paper).
        max_detections: K, detections per image (100).
        pre_nms_top_k: (box, class) candidates per image entering NMS (1000).

    Returns:
        A functional ``keras.Model`` named ``"ssd"`` mapping images to the
        detection dict (``detection_boxes``, ``detection_scores``,
        ``detection_classes``, ``num_detections``; docs/design.md,
        "Predictions"). Its raw outputs are the layers ``"box_deltas"``
        [N, A, 4] and ``"class_logits"`` [N, A, C + 1], in default-box order.

    Reference:
        Liu et al., "SSD: Single Shot MultiBox Detector", ECCV 2016.
    """
    return ssd_model(
        num_classes, backbone, input_shape, weights, extra_channels, score_threshold, iou_threshold,
        max_detections, pre_nms_top_k, separable=False, name="ssd",
    )


def _separable(x, filters, stride, name, linear):
    """MobileNetV2's SSDLite convolution: depthwise 3x3 (batch norm, ReLU6), then a 1x1 to ``filters``
    (``linear``: with a bias and no activation, a predictor; else batch norm and ReLU6)."""
    x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=f"{name}_depthwise")(x)
    x = FusedBatchNormalization(name=f"{name}_depthwise_bn")(x)
    x = layers.ReLU(6.0, name=f"{name}_depthwise_relu")(x)
    if linear:
        return layers.Conv2D(filters, 1, name=name)(x)
    x = layers.Conv2D(filters, 1, use_bias=False, name=name)(x)
    x = FusedBatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x)


def _extra_layer(x, channels, name, separable):
    """A 1x1 reduction to ``channels / 2``, then a stride-2 3x3 to ``channels`` (separable: SSDLite's)."""
    if not separable:
        x = layers.Conv2D(channels // 2, 1, activation="relu", name=f"{name}_reduce")(x)
        return layers.Conv2D(channels, 3, strides=2, padding="same", activation="relu", name=name)(x)
    x = layers.Conv2D(channels // 2, 1, use_bias=False, name=f"{name}_reduce")(x)
    x = FusedBatchNormalization(name=f"{name}_reduce_bn")(x)
    x = layers.ReLU(6.0, name=f"{name}_reduce_relu")(x)
    return _separable(x, channels, 2, name, linear=False)


def _predictor(x, filters, name, separable):
    """A level's class or box predictor: a 3x3 convolution (separable: SSDLite's, depthwise then 1x1)."""
    if separable:
        return _separable(x, filters, 1, name, linear=True)
    return layers.Conv2D(filters, 3, padding="same", name=name)(x)


def ssd_model(
    num_classes, backbone, input_shape, weights, extra_channels, score_threshold, iou_threshold, max_detections,
    pre_nms_top_k, separable, name,
):
    """The SSD graph of ``build_ssd`` and, with ``separable`` convolutions everywhere after the backbone,
    of ``build_ssdlite``: the same levels, default boxes, targets and decoder."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    if None in tuple(input_shape[:2]):
        raise ValueError(f"{name} needs a fixed input size: its default boxes depend on it")
    features = build_backbone(backbone, input_shape, weights=weights)
    default_boxes = DefaultBoxes(STRIDES, MIN_SCALE, MAX_SCALE, ASPECT_RATIOS, name="default_boxes")

    images = keras.Input(input_shape, name="images")
    maps = dict(features(images))
    x = maps["P5"]
    for level in LEVELS[3:]:
        x = maps[level] = _extra_layer(x, extra_channels, f"extra_{level}", separable)
    class_outputs, box_outputs = [], []
    level_shapes = default_boxes.feature_shapes(*input_shape[:2])
    for level, shape, count in zip(LEVELS, level_shapes, default_boxes.boxes_per_location, strict=True):
        if tuple(maps[level].shape[1:3]) != shape:
            raise ValueError(
                f"backbone {backbone!r} gives {level} of size {tuple(maps[level].shape[1:3])} for input "
                f"{tuple(input_shape[:2])}; {name}'s default boxes need {shape} (a 'same'-padded backbone)"
            )
        logits = _predictor(maps[level], count * (num_classes + 1), f"class_{level}", separable)
        deltas = _predictor(maps[level], count * 4, f"box_{level}", separable)
        class_outputs.append(layers.Reshape((-1, num_classes + 1), name=f"class_{level}_flat")(logits))
        box_outputs.append(layers.Reshape((-1, 4), name=f"box_{level}_flat")(deltas))
    class_logits = layers.Concatenate(axis=1, name="class_logits")(class_outputs)
    box_deltas = layers.Concatenate(axis=1, name="box_deltas")(box_outputs)
    decoder = DetectionDecoder(
        num_classes=num_classes,
        iou_threshold=iou_threshold,
        score_threshold=score_threshold,
        max_detections=max_detections,
        pre_nms_top_k=pre_nms_top_k,
        activation="softmax",
        has_background=True,
        box_weights=BOX_WEIGHTS,
        name="detections",
    )
    return keras.Model(images, decoder([box_deltas, class_logits, default_boxes(images)]), name=name)


def compile_ssd(model, strategy=None, learning_rate=1e-3, negative_ratio=3.0):
    """SSD's multibox loss ``(L_conf + L_loc) / N`` (alpha = 1), Adam.

    ``L_conf``: softmax cross-entropy of the positives and the hardest
    negatives (at most ``negative_ratio`` per positive, per image);
    ``L_loc``: smooth-L1 (beta 1) of the positives' deltas; N the positives.
    ``model`` is the model ``fit`` trains, of the raw outputs ``box_deltas``
    and ``class_logits`` (``raw_outputs_model``).
    """
    metrics = {"class_logits": [ReplicaUsage(strategy.num_replicas_in_sync)]} if strategy is not None else None
    model.compile(
        optimizer=FusedAdam(learning_rate, global_clipnorm=10.0),
        loss={
            "box_deltas": SmoothL1Loss(beta=1.0),
            "class_logits": HardNegativeSoftmaxLoss(negative_ratio=negative_ratio),
        },
        metrics=metrics,
    )


def ssd_targets(element, image_size):
    """Dataset element -> (image, {"box_deltas": [A, 5], "class_logits": [A]}) for ``model.fit``.

    Class labels are softmax labels: 0 background, ``c + 1`` class ``c``, -1
    ignored (crowd); box targets are deltas with the anchor weight last.
    """
    labels, box_targets = target_ops.anchor_targets(
        element, ssd_default_boxes(image_size), MATCH_IOU, MATCH_IOU, True, BOX_WEIGHTS
    )
    image = target_ops.resize_image(element, image_size)
    return image, {"box_deltas": box_targets, "class_logits": target_ops.with_background_class(labels)}
