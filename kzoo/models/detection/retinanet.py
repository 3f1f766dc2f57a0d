"""RetinaNet: FPN features, shared class and box subnets over P3-P7, sigmoid focal loss."""

import math

import keras
from keras import layers

from kzoo.backbones import build_backbone
from kzoo.layers import AnchorGenerator, DetectionDecoder, FeaturePyramid
from kzoo.losses import FocalLoss, SmoothL1Loss
from kzoo.metrics.replica_usage import ReplicaUsage
from kzoo.models.detection import targets as target_ops
from kzoo.ops import anchors as anchor_ops
from kzoo.optimizers import FusedAdam

MIN_LEVEL, MAX_LEVEL = 3, 7
# The paper's anchors: base size 4 x stride on P3-P7, 3 scales, 3 aspect ratios (A = 9).
ANCHORS = dict(
    strides=tuple(2**level for level in range(MIN_LEVEL, MAX_LEVEL + 1)),
    sizes=tuple(4 * 2**level for level in range(MIN_LEVEL, MAX_LEVEL + 1)),
    scales=(1.0, 2.0 ** (1.0 / 3.0), 2.0 ** (2.0 / 3.0)),
    aspect_ratios=(0.5, 1.0, 2.0),
)
# Matching as the paper (IoU >= 0.5 object, < 0.4 background), plus each box's best
# anchors (torchvision's rule): without it, objects smaller than the 32-pixel
# anchors of P3 would have no positive anchor at all.
FOREGROUND_IOU, BACKGROUND_IOU, LOW_QUALITY_MATCHES = 0.5, 0.4, True
BOX_WEIGHTS = (1.0, 1.0, 1.0, 1.0)


ANCHORS_PER_LOCATION = len(ANCHORS["scales"]) * len(ANCHORS["aspect_ratios"])


def retinanet_anchors(image_size):
    """float32 [A, 4] anchors of a RetinaNet for images of ``image_size`` (height, width).

    The same anchors as ``kzoo.layers.AnchorGenerator(**ANCHORS)``, as a
    constant: they depend only on the image size, which is fixed per model.
    The targets use them; the model decodes with its own ``"anchors"`` layer.
    """
    height, width = (int(s) for s in image_size)
    return anchor_ops.pyramid_anchors(height, width, **ANCHORS)


def _subnet(num_convs, num_channels, outputs, name, bias_initializer="zeros"):
    """The subnet applied to every level with shared weights: convs + ReLU, then the output conv."""
    init = keras.initializers.RandomNormal(stddev=0.01)
    convs = [
        layers.Conv2D(
            num_channels, 3, padding="same", activation="relu", kernel_initializer=init, name=f"{name}_conv{i}"
        )
        for i in range(num_convs)
    ]
    out = layers.Conv2D(
        outputs, 3, padding="same", kernel_initializer=init, bias_initializer=bias_initializer, name=f"{name}_output"
    )
    return convs + [out]


def _apply(stack, x):
    for layer in stack:
        x = layer(x)
    return x


def build_retinanet(
    num_classes,
    backbone="tiny",
    input_shape=(128, 128, 3),
    weights=None,
    num_channels=256,
    num_convs=4,
    prior_probability=0.01,
    score_threshold=0.05,
    iou_threshold=0.5,
    max_detections=100,
    pre_nms_top_k=1000,
):
    """RetinaNet (Lin et al.): a one-stage detector with an FPN and focal loss.

    A backbone's C3-C5 feed a feature pyramid P3-P7 (``FeaturePyramid``;
    P6 and P7 by stride-2 convolutions on C5). Two small fully convolutional
    subnets, each ``num_convs`` 3x3 convolutions with ReLU, are applied to
    every level with shared weights: the class subnet predicts
    ``A x num_classes`` sigmoid logits and the box subnet ``A x 4`` deltas at
    each location, for ``A = 9`` anchors (3 scales x 3 aspect ratios of base
    size 4 x stride). The last class convolution's bias starts at
    ``-log((1 - pi) / pi)`` so that every anchor first predicts foreground
    with probability ``pi``: without it the loss of the ~100k easy negatives
    swamps the first steps.

    The model decodes inside its graph: an ``AnchorGenerator`` (layer
    ``"anchors"``) gives the anchors of the input size and a
    ``DetectionDecoder`` (layer ``"detections"``) takes sigmoid scores, the
    ``pre_nms_top_k`` best (anchor, class) pairs, decodes their boxes and
    runs per-class NMS. Both layers' configs hold every setting, so a
    reloaded checkpoint decodes as it was built. ``fit`` trains the raw
    outputs (``kzoo.models.detection.raw_outputs_model``).

    Args:
        num_classes: number of object classes (no background).
        backbone: a name from ``kzoo.backbones.list_backbones()`` whose
            levels have stride 8, 16, 32 ("same"-padded nets: ``tiny``,
            ``resnet50``, ``mobilenet_v2``, ``vgg16``, ...).
        input_shape: (H, W, 3) of float RGB images in [0, 255].
        weights: backbone weights (None, ``"imagenet"`` or a file path).
        num_channels: channels of the pyramid and the subnets (256 in the paper).
        num_convs: convolutions in each subnet before its output (4 in the paper).
        prior_probability: pi, the initial foreground probability (0.01).
        score_threshold: detections must score above this (0.05).
        iou_threshold: per-class NMS IoU (0.5).
        max_detections: K, detections per image (100).
        pre_nms_top_k: (anchor, class) candidates per image entering NMS (1000).

    Returns:
        A functional ``keras.Model`` named ``"retinanet"`` mapping images to
        the detection dict (``detection_boxes``, ``detection_scores``,
        ``detection_classes``, ``num_detections``; docs/design.md,
        "Predictions"). Its raw outputs are the layers ``"box_deltas"``
        [N, A_total, 4] and ``"class_logits"`` [N, A_total, C], anchors in
        ``AnchorGenerator`` order (P3 to P7, each row, column, anchor).

    Reference:
        Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    height, width = input_shape[:2]
    if height is None or width is None:
        raise ValueError("RetinaNet needs a fixed input size: its anchors depend on it")
    num_anchors = ANCHORS_PER_LOCATION
    features = build_backbone(backbone, input_shape, weights=weights)
    class_subnet = _subnet(
        num_convs,
        num_channels,
        num_anchors * num_classes,
        "class",
        keras.initializers.Constant(-math.log((1.0 - prior_probability) / prior_probability)),
    )
    box_subnet = _subnet(num_convs, num_channels, num_anchors * 4, "box")

    images = keras.Input(input_shape, name="images")
    backbone_levels = features(images)
    pyramid = FeaturePyramid(num_channels, MIN_LEVEL, MAX_LEVEL, "conv", name="fpn")(
        {name: backbone_levels[name] for name in ("P3", "P4", "P5")}
    )
    class_outputs, box_outputs = [], []
    for level, stride in zip(range(MIN_LEVEL, MAX_LEVEL + 1), ANCHORS["strides"]):
        feature = pyramid[f"P{level}"]
        expected = (math.ceil(height / stride), math.ceil(width / stride))
        if tuple(feature.shape[1:3]) != expected:
            raise ValueError(
                f"backbone {backbone!r} gives P{level} of size {tuple(feature.shape[1:3])} for a "
                f"{height}x{width} input; RetinaNet's anchors need {expected} (a 'same'-padded backbone)"
            )
        class_outputs.append(layers.Reshape((-1, num_classes), name=f"class_P{level}")(_apply(class_subnet, feature)))
        box_outputs.append(layers.Reshape((-1, 4), name=f"box_P{level}")(_apply(box_subnet, feature)))
    class_logits = layers.Concatenate(axis=1, name="class_logits")(class_outputs)
    box_deltas = layers.Concatenate(axis=1, name="box_deltas")(box_outputs)
    anchor_generator = AnchorGenerator(**ANCHORS, name="anchors")
    if anchor_generator.num_anchors(height, width) != box_deltas.shape[1]:
        raise ValueError(f"{box_deltas.shape[1]} box outputs for {anchor_generator.num_anchors(height, width)} anchors")
    anchors = anchor_generator(images)
    decoder = DetectionDecoder(
        num_classes=num_classes,
        iou_threshold=iou_threshold,
        score_threshold=score_threshold,
        max_detections=max_detections,
        pre_nms_top_k=pre_nms_top_k,
        activation="sigmoid",
        box_weights=BOX_WEIGHTS,
        name="detections",
    )
    return keras.Model(images, decoder([box_deltas, class_logits, anchors]), name="retinanet")


def compile_retinanet(model, strategy=None, learning_rate=1e-3, smooth_l1_beta=0.11, alpha=0.25, gamma=2.0):
    """Focal loss (alpha 0.25, gamma 2) on classes plus smooth-L1 on the positives' deltas, Adam.

    Both terms are divided by the number of positive anchors in the global
    batch, as in the paper. Gradients are clipped by their global norm:
    training from scratch, the first steps can be large. ``model`` is the
    model ``fit`` trains, of the raw outputs ``box_deltas`` and
    ``class_logits`` (``raw_outputs_model``).
    """
    metrics = {"class_logits": [ReplicaUsage(strategy.num_replicas_in_sync)]} if strategy is not None else None
    model.compile(
        optimizer=FusedAdam(learning_rate, global_clipnorm=10.0),
        loss={
            "box_deltas": SmoothL1Loss(beta=smooth_l1_beta),
            "class_logits": FocalLoss(alpha=alpha, gamma=gamma),
        },
        metrics=metrics,
    )


def retinanet_targets(element, image_size):
    """Dataset element -> (image, {"box_deltas": [A, 5], "class_logits": [A]}) for ``model.fit``.

    Class labels are the matcher's (class id, -1 background, -2 ignored);
    box targets are the matched boxes' deltas with the anchor weight last.
    """
    anchors = retinanet_anchors(image_size)
    labels, box_targets = target_ops.anchor_targets(
        element, anchors, FOREGROUND_IOU, BACKGROUND_IOU, LOW_QUALITY_MATCHES, BOX_WEIGHTS
    )
    return target_ops.resize_image(element, image_size), {"box_deltas": box_targets, "class_logits": labels}
