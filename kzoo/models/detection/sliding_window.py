"""The sliding-window detector: a crop classifier run over every position at several scales."""

import keras
from keras import layers

from kzoo.layers import DetectionDecoder, ImagePreprocessing, SlidingWindows
from kzoo.layers.fused_batch_normalization import FusedBatchNormalization
from kzoo.metrics.replica_usage import ReplicaUsage
from kzoo.models.detection import targets as target_ops
from kzoo.models.detection.image_pyramid import ImagePyramid
from kzoo.models.detection.multibox_loss import HardNegativeSoftmaxLoss
from kzoo.ops import anchors as anchor_ops
from kzoo.optimizers import FusedAdam

WINDOW = 32  # crop side in pixels of the (rescaled) image
STRIDE = 8  # crop step: the classifier's total stride
# The image pyramid: resize factors a factor sqrt(2) apart. At scale s the
# 32-pixel crop covers 32 / s pixels of the input (16 to 64 for these).
SCALES = (2.0, 1.414, 1.0, 0.707, 0.5)
FOREGROUND_IOU, BACKGROUND_IOU = 0.5, 0.3
# Crop classifiers: widths of the four convolutions. Only "valid" (unpadded)
# convolutions make the convolutional run equal to classifying each crop alone.
CROP_CLASSIFIERS = {"tiny": (16, 32, 64, 128), "small": (32, 64, 128, 256)}


def scaled_sizes(image_size, scales=SCALES):
    """(height, width) the image is resized to at each scale (at least one window)."""
    height, width = (int(v) for v in image_size)
    return ImagePyramid(scales, min_size=WINDOW).level_sizes(height, width)


def windows_of_sizes(sizes):
    """float32 [A, 4] normalized windows over images resized to each of ``sizes``, in order.

    On an image resized to ``h x w``, window ``(i, j)`` (row-major) covers
    pixels ``[i * STRIDE, i * STRIDE + WINDOW)`` x ``[j * STRIDE, j * STRIDE + WINDOW)``,
    which is ``[i S / h, j S / w, (i S + W) / h, (j S + W) / w]`` normalized
    (``kzoo.ops.anchors.sliding_windows``).
    """
    return anchor_ops.sliding_windows(sizes, WINDOW, STRIDE)


def sliding_windows(image_size, scales=SCALES):
    """float32 [A, 4] windows of the detector for images of ``image_size``, scale by scale.

    The targets use them; the model decodes with its own ``"windows"`` layer
    (``kzoo.layers.SlidingWindows`` over its image pyramid's levels).
    """
    return windows_of_sizes(scaled_sizes(image_size, scales))


def build_crop_classifier(num_classes, backbone="tiny"):
    """The crop classifier: a WINDOW x WINDOW crop -> C + 1 class logits (background first).

    Four "valid" convolutions (4x4/2, 3x3/2, 3x3/2, 3x3/1) take a 32x32 crop
    to 1x1 and a 1x1 convolution gives the logits. Run on a whole image it
    gives the logits of every crop at stride 8: the same numbers as cropping
    each window and classifying it alone.
    """
    if backbone not in CROP_CLASSIFIERS:
        raise ValueError(
            f"the sliding-window detector's crop classifier is one of {sorted(CROP_CLASSIFIERS)}, got {backbone!r}: "
            "a classifier run convolutionally equals classifying each crop alone only without padding, "
            "and kzoo's general backbones pad"
        )
    widths = CROP_CLASSIFIERS[backbone]
    images = keras.Input((None, None, 3), name="crops")
    x = ImagePreprocessing("unit", name="preprocess")(images)
    for i, (width, kernel, stride) in enumerate(zip(widths, (4, 3, 3, 3), (2, 2, 2, 1))):
        x = layers.Conv2D(width, kernel, strides=stride, padding="valid", use_bias=False, name=f"conv{i + 1}")(x)
        x = FusedBatchNormalization(name=f"bn{i + 1}")(x)
        x = layers.ReLU(name=f"relu{i + 1}")(x)
    logits = layers.Conv2D(num_classes + 1, 1, name="logits")(x)
    return keras.Model(images, logits, name="crop_classifier")


def build_sliding_window_detector(
    num_classes,
    backbone="tiny",
    input_shape=(128, 128, 3),
    scales=SCALES,
    score_threshold=0.05,
    iou_threshold=0.5,
    max_detections=100,
    pre_nms_top_k=1000,
):
    """The lecture's first detector: classify crops at every position and scale, then NMS.

    The image is resized by each factor of ``scales`` (an image pyramid)
    and one crop classifier (shared weights) runs convolutionally over each
    resized image at stride 8: every output location is the classification
    of one 32x32 crop, object class or background, i.e. of a window of
    ``32 / s`` input pixels. Boxes are the windows themselves; nothing is
    regressed. The cost grows with the total resized area: with the square
    of the image size, and as ``sum s_k ** 2`` over the scales.

    The model decodes inside its graph: a ``SlidingWindows`` layer
    (``"windows"``) gives the windows of the image pyramid's levels and a
    ``DetectionDecoder`` (``"detections"``) takes softmax scores without the
    background and runs per-class NMS on the windows. The layers' configs
    (with the ``"image_pyramid"``'s scales) hold every setting, so a
    reloaded checkpoint decodes as it was built. ``fit`` trains the raw
    logits (``kzoo.models.detection.raw_outputs_model``).

    Args:
        num_classes: number of object classes (no background).
        backbone: the crop classifier, ``"tiny"`` or ``"small"``
            (``CROP_CLASSIFIERS``). General backbones pad their convolutions,
            so they cannot be run convolutionally as an exact crop classifier.
        input_shape: (H, W, 3) of float RGB images in [0, 255].
        scales: resize factors of the image pyramid.
        score_threshold: detections must score above this (0.05).
        iou_threshold: per-class NMS IoU (0.5).
        max_detections: K, detections per image (100).
        pre_nms_top_k: (window, class) candidates per image entering NMS (1000).

    Returns:
        A functional ``keras.Model`` named ``"sliding_window_detector"``
        mapping images to the detection dict (``detection_boxes``,
        ``detection_scores``, ``detection_classes``, ``num_detections``;
        docs/design.md, "Predictions"). Its raw output is the layer
        ``"class_logits"``: [N, A, C + 1] (background first), one row per
        window of ``sliding_windows``.

    Reference:
        Sermanet et al., "OverFeat: Integrated Recognition, Localization and
        Detection using Convolutional Networks", ICLR 2014.
    """
    height, width = input_shape[:2]
    if height is None or width is None:
        raise ValueError("the sliding-window detector needs a fixed input size: its windows depend on it")
    classifier = build_crop_classifier(num_classes, backbone)

    images = keras.Input(input_shape, name="images")
    pyramid = ImagePyramid(scales, min_size=WINDOW, name="image_pyramid")
    levels = pyramid(images)
    per_scale = []
    for k, ((h, w), scaled) in enumerate(zip(pyramid.level_sizes(height, width), levels)):
        logits = classifier(scaled)
        expected = ((h - WINDOW) // STRIDE + 1, (w - WINDOW) // STRIDE + 1)
        if tuple(logits.shape[1:3]) != expected:
            raise ValueError(f"crop classifier gives {tuple(logits.shape[1:3])} windows at scale {k}, not {expected}")
        # With one scale, its windows are the raw output itself.
        name = "class_logits" if len(levels) == 1 else f"windows_{k}"
        per_scale.append(layers.Reshape((-1, num_classes + 1), name=name)(logits))
    logits = per_scale[0] if len(per_scale) == 1 else layers.Concatenate(axis=1, name="class_logits")(per_scale)
    windows = SlidingWindows(WINDOW, STRIDE, name="windows")(levels)
    decoder = DetectionDecoder(
        num_classes=num_classes,
        iou_threshold=iou_threshold,
        score_threshold=score_threshold,
        max_detections=max_detections,
        pre_nms_top_k=pre_nms_top_k,
        activation="softmax",
        has_background=True,
        name="detections",
    )
    return keras.Model(images, decoder([windows, logits]), name="sliding_window_detector")


def compile_sliding_window_detector(model, strategy=None, learning_rate=1e-3, negative_ratio=3.0):
    """Softmax cross-entropy over object windows and the hardest background windows (3:1), Adam.

    ``model`` is the model ``fit`` trains, of the raw ``class_logits`` (``raw_outputs_model``).
    """
    metrics = [ReplicaUsage(strategy.num_replicas_in_sync)] if strategy is not None else None
    model.compile(
        optimizer=FusedAdam(learning_rate),
        loss=HardNegativeSoftmaxLoss(negative_ratio=negative_ratio),
        metrics=metrics,
    )


def sliding_window_targets(element, image_size, scales=SCALES):
    """Dataset element -> (image, labels [A]) for ``model.fit``.

    A window is an object of the class of the box it overlaps most when
    their IoU is at least 0.5 (label ``c + 1``), background below 0.3
    (label 0), and left out of the loss in between (label -1).
    """
    windows = sliding_windows(image_size, scales)
    labels, _ = target_ops.anchor_targets(element, windows, FOREGROUND_IOU, BACKGROUND_IOU, False, (1.0,) * 4)
    return target_ops.resize_image(element, image_size), target_ops.with_background_class(labels)
