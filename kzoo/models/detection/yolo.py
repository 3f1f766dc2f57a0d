"""YOLO (v1): one network from the image to an S x S x (5B + C) grid of boxes and class scores."""

import keras
import tensorflow as tf
from keras import layers

from kzoo.backbones import build_backbone
from kzoo.layers import DetectionDecoder, YoloBoxes
from kzoo.metrics.replica_usage import ReplicaUsage
from kzoo.models.detection import targets as target_ops
from kzoo.models.detection.yolo_loss import YoloLoss
from kzoo.ops import boxes as box_ops
from kzoo.optimizers import FusedAdam

GRID_SIZE = 7
BOXES_PER_CELL = 2
HEADS = ("fully_connected", "convolutional")


def build_yolo(
    num_classes,
    backbone="tiny",
    input_shape=(128, 128, 3),
    weights=None,
    grid_size=GRID_SIZE,
    boxes_per_cell=BOXES_PER_CELL,
    head_channels=256,
    hidden_units=1024,
    dropout=0.5,
    score_threshold=0.005,
    iou_threshold=0.5,
    max_detections=100,
    pre_nms_top_k=1000,
    feature_level="P5",
    head="fully_connected",
):
    """YOLO as in Redmon et al. (v1) and the lecture: detection as one regression.

    The image is divided into an S x S grid. Backbone features (stride 32,
    or ``feature_level``'s) go through a 3x3 convolution and two fully connected layers (leaky
    ReLU 0.1, dropout 0.5 between them, as in the paper) to
    ``S x S x (5B + C)`` numbers: per cell, B boxes of
    ``(y, x, sqrt_h, sqrt_w, confidence)`` and C class scores shared by the
    cell's boxes (see ``kzoo.models.detection.yolo_loss``). A cell is
    responsible for the objects whose centre falls in it.

    The model decodes inside its graph: a ``YoloBoxes`` layer
    (``"yolo_boxes"``) turns the grid into every predicted box with its
    class-specific confidences ``Pr(class | object) * confidence``, and a
    ``DetectionDecoder`` (``"detections"``) runs per-class NMS. Both layers'
    configs hold every setting, so a reloaded checkpoint decodes as it was
    built. ``fit`` trains the raw grid (``kzoo.models.detection.raw_outputs_model``).

    Args:
        num_classes: number of object classes (no background: the
            confidence says whether a box holds an object).
        backbone: a name from ``kzoo.backbones.list_backbones()``.
        input_shape: (H, W, 3) of float RGB images in [0, 255]; fixed, since
            the head is fully connected.
        weights: backbone weights (None, ``"imagenet"`` or a file path).
        grid_size: S (7 in the paper). ``yolo_targets`` must use the same.
        boxes_per_cell: B (2 in the paper).
        head_channels: channels of the convolution before the fully connected layers.
        hidden_units: width of the first fully connected layer (4096 in the paper).
        dropout: dropout rate after it.
        score_threshold: detections must score above this (0.005, as Darknet
            evaluates mAP: scores are a product of two probabilities and the
            confidence learns to predict an IoU, so even good detections
            score well below RetinaNet's).
        iou_threshold: per-class NMS IoU (0.5).
        max_detections: K, detections per image (100).
        pre_nms_top_k: (box, class) candidates per image entering NMS (1000).
        feature_level: the backbone level the head reads, ``"P5"`` (stride 32)
            or ``"P4"`` (stride 16). The paper's network ends on a 7 x 7 map,
            the size of its grid, at 448 pixels; at 128 pixels P4's 8 x 8 map
            is the one of about the grid's size, P5's only 4 x 4.
        head: ``"fully_connected"`` (the paper's) or ``"convolutional"``:
            two 3x3 convolutions on the feature map, a ``(M - S + 1)``-wide
            valid convolution that brings its M x M cells to the S x S grid
            (a 1x1 convolution when M = S), and 1x1 convolutions to the grid, as
            YOLOv2 went on to do: every cell shares the same weights, so what
            is learnt at one place holds at every other. ``hidden_units`` and
            ``dropout`` belong to the fully connected head only.

    Returns:
        A functional ``keras.Model`` named ``"yolo"`` mapping images to the
        detection dict (``detection_boxes``, ``detection_scores``,
        ``detection_classes``, ``num_detections``; docs/design.md,
        "Predictions"). Its raw output is the layer ``"grid"`` [N, S, S, 5B + C].

    Reference:
        Redmon et al., "You Only Look Once: Unified, Real-Time Object
        Detection", CVPR 2016.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    if None in tuple(input_shape[:2]):
        raise ValueError("YOLO needs a fixed input size: its head is fully connected")
    s, b = int(grid_size), int(boxes_per_cell)
    features = build_backbone(backbone, input_shape, weights=weights)

    images = keras.Input(input_shape, name="images")
    if feature_level not in ("P4", "P5"):
        raise ValueError(f"feature_level must be 'P4' or 'P5', got {feature_level!r}")
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
    # The levels past the one the head reads would be computed for nothing, and never trained.
    features = keras.Model(features.input, {feature_level: features.output[feature_level]}, name=features.name)
    x = features(images)[feature_level]
    x = layers.Conv2D(head_channels, 3, padding="same", name="head_conv")(x)
    x = layers.LeakyReLU(0.1, name="head_conv_leaky")(x)
    if head == "fully_connected":
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(hidden_units, name="fc")(x)
        x = layers.LeakyReLU(0.1, name="fc_leaky")(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        box_outputs = layers.Dense(s * s * 5 * b, name="box_fc")(x)
        class_outputs = layers.Dense(s * s * num_classes, name="class_fc")(x)
    else:
        box_outputs, class_outputs = _convolutional_head(x, s, b, num_classes, head_channels)
    box_grid = layers.Reshape((s, s, 5 * b), name="box_grid")(box_outputs)
    class_grid = layers.Reshape((s, s, num_classes), name="class_grid")(class_outputs)
    grid = layers.Concatenate(axis=-1, name="grid")([box_grid, class_grid])
    boxes, scores = YoloBoxes(s, b, num_classes, name="yolo_boxes")(grid)
    decoder = DetectionDecoder(
        num_classes=num_classes,
        iou_threshold=iou_threshold,
        score_threshold=score_threshold,
        max_detections=max_detections,
        pre_nms_top_k=pre_nms_top_k,
        activation=None,
        name="detections",
    )
    return keras.Model(images, decoder([boxes, scores]), name="yolo")


def _convolutional_head(x, grid_size, boxes_per_cell, num_classes, channels):
    """YOLO's grid from a feature map by convolutions alone: (box outputs, class outputs)."""
    height, width = x.shape[1:3]
    if min(height, width) < grid_size:
        raise ValueError(
            f"the convolutional head needs a feature map of at least the grid's {grid_size} x {grid_size} cells, "
            f"got {height} x {width}: use a larger image or a finer feature_level"
        )
    x = layers.Conv2D(channels, 3, padding="same", name="head_conv_2")(x)
    x = layers.LeakyReLU(0.1, name="head_conv_2_leaky")(x)
    x = layers.Conv2D(channels, (height - grid_size + 1, width - grid_size + 1), name="head_to_grid")(x)
    x = layers.LeakyReLU(0.1, name="head_to_grid_leaky")(x)
    box_outputs = layers.Conv2D(5 * boxes_per_cell, 1, name="box_conv")(x)
    class_outputs = layers.Conv2D(num_classes, 1, name="class_conv")(x)
    return box_outputs, class_outputs


def yolo_config(model):
    """(S, B, C) of a built or reloaded YOLO, read from its layers."""
    grid_size, _, num_classes = model.get_layer("class_grid").target_shape
    boxes = model.get_layer("box_grid").target_shape[-1] // 5
    return grid_size, boxes, num_classes


def compile_yolo(model, strategy=None, learning_rate=1e-3, coord_weight=5.0, noobj_weight=0.5):
    """YOLO's sum-squared loss with the paper's weights (lambda_coord 5, lambda_noobj 0.5), Adam.

    ``model`` is the model ``fit`` trains, of the raw grid (``raw_outputs_model``).
    """
    _, boxes, _ = yolo_config(model)
    metrics = [ReplicaUsage(strategy.num_replicas_in_sync)] if strategy is not None else None
    model.compile(
        optimizer=FusedAdam(learning_rate, global_clipnorm=10.0),
        loss=YoloLoss(boxes, coord_weight, noobj_weight),
        metrics=metrics,
    )


def yolo_targets(element, image_size, grid_size=GRID_SIZE):
    """Dataset element -> (image, cell targets [S, S, 6]) for ``model.fit``.

    Each cell holds the box of the object whose centre falls in it, a 1
    flag, and its class; a cell without one holds zeros and class -1. When
    several centres fall in one cell, the largest object is kept (YOLO v1
    predicts one class per cell).
    """
    boxes, classes, crowd = target_ops.clean_groundtruth(element)
    valid = (classes >= 0) & ~crowd
    cy, cx, _, _ = box_ops.centers_and_sizes(boxes)
    row = tf.clip_by_value(tf.cast(tf.floor(cy * grid_size), tf.int32), 0, grid_size - 1)
    col = tf.clip_by_value(tf.cast(tf.floor(cx * grid_size), tf.int32), 0, grid_size - 1)
    member = tf.equal(tf.range(grid_size * grid_size)[:, None], (row * grid_size + col)[None, :]) & valid[None, :]
    # A column of -1 after the objects keeps argmax defined when there are none.
    score = tf.where(member, box_ops.area(boxes)[None, :], -1.0)
    score = tf.concat([score, -tf.ones([grid_size * grid_size, 1])], axis=1)
    best = tf.argmax(score, axis=1, output_type=tf.int32)
    has_object = tf.reduce_any(member, axis=1)
    padded_boxes = tf.concat([boxes, tf.zeros([1, 4])], axis=0)
    padded_classes = tf.concat([classes, [-1]], axis=0)
    cell_boxes = tf.where(has_object[:, None], tf.gather(padded_boxes, best), 0.0)
    cell_classes = tf.where(has_object, tf.gather(padded_classes, best), -1)
    cells = tf.concat(
        [cell_boxes, tf.cast(has_object, tf.float32)[:, None], tf.cast(cell_classes, tf.float32)[:, None]], axis=-1
    )
    return target_ops.resize_image(element, image_size), tf.reshape(cells, [grid_size, grid_size, 6])
