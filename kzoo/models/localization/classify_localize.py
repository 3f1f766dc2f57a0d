"""Classification + localization: one network, a class-score head and a box head.

The lecture's step from classification to localization: the fully connected
features of an image classifier feed two heads, ``C`` class scores and the
four numbers of one box, trained with the sum of a softmax loss and a box
regression loss (a multi-task loss, ``L = L_class + box_weight * L_box``).
It works when the image holds exactly one object of interest, as in
single-garment ``fashion_scenes``.

Raw outputs (what ``model.fit`` sees):

- ``class_logits`` [N, C]: softmax logits.
- ``box`` [N, 4]: the box ``[ymin, xmin, ymax, xmax]`` regressed directly,
  normalized by the image size. The lecture writes ``(x, y, w, h)``; corners
  carry the same four degrees of freedom and are the box format everywhere
  in kzoo, so GIoU and the metrics need no conversion.
"""

import keras
import tensorflow as tf
from keras import layers

from kzoo.losses import GIoULoss, SmoothL1Loss
from kzoo.metrics.replica_usage import ReplicaUsage
from kzoo.models.fixed_input_backbone import build_fixed_input_backbone
from kzoo.ops import boxes as box_ops
from kzoo.optimizers import FusedAdam

BOX_LOSSES = ("l2", "smooth_l1", "giou")
INITIAL_BOX = (0.2, 0.2, 0.8, 0.8)


def build_classify_localize(
    num_classes,
    backbone="tiny",
    input_shape=(64, 64, 3),
    weights=None,
    feature_level="P5",
    hidden_units=256,
    dropout=0.2,
):
    """One network with two heads: class scores and one box.

    Both heads read the same backbone level, each through its own fully
    connected layer (the lecture's picture: "fully connected: 4096 to 1000"
    next to "4096 to 4"). The class head pools the map globally, since what
    the object is does not depend on where it is; the box head flattens it,
    since where it is is exactly what the box needs.

    Args:
        num_classes: number of object classes.
        backbone: a name from ``kzoo.backbones.list_backbones()``.
        input_shape: (H, W, 3) of the float RGB images in [0, 255]; H and W
            must be fixed (the flattened features feed dense layers).
        weights: backbone weights (None, ``"imagenet"`` or a file path).
        feature_level: backbone level the heads read ("P2".."P5").
        hidden_units: width of each head's fully connected layer.
        dropout: dropout rate before each head's output layer.

    Returns:
        A functional ``keras.Model`` named ``"classify_localize"`` mapping
        images to ``{"class_logits": [N, num_classes], "box": [N, 4]}``.
    """
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    features = build_fixed_input_backbone(backbone, input_shape, feature_level, weights)

    images = keras.Input(input_shape, name="images")
    x = features(images)[feature_level]
    what = layers.GlobalAveragePooling2D(name="class_pool")(x)
    what = layers.Dense(hidden_units, activation="relu", name="class_fc")(what)
    what = layers.Dropout(dropout, name="class_dropout")(what)
    class_logits = layers.Dense(num_classes, name="class_logits")(what)
    where = layers.Flatten(name="box_flatten")(x)
    where = layers.Dense(hidden_units, activation="relu", name="box_fc")(where)
    where = layers.Dropout(dropout, name="box_dropout")(where)
    box = layers.Dense(4, name="box")(where)
    model = keras.Model(images, {"class_logits": class_logits, "box": box}, name="classify_localize")
    # The box head starts at a centred box rather than at a point in the
    # corner: a zero start makes the first steps' box errors so large that
    # they swamp the class gradient and delay classification by epochs.
    model.get_layer("box").bias.assign(INITIAL_BOX)
    return model


def box_loss_by_name(name, beta=1.0):
    """The box regression loss ``name`` of ``BOX_LOSSES`` as a Keras loss on [N, 4] boxes.

    - ``"l2"``: mean squared error of the four coordinates (the lecture's L2).
    - ``"smooth_l1"``: kzoo's smooth-L1, summed over the coordinates; with
      ``beta=1`` and normalized boxes every error is below ``beta`` and it
      is half the squared L2 distance.
    - ``"giou"``: kzoo's ``1 - GIoU``, which optimizes overlap itself.
    """
    if name == "l2":
        return keras.losses.MeanSquaredError(name="box_l2")
    if name == "smooth_l1":
        return SmoothL1Loss(beta=beta)
    if name == "giou":
        return GIoULoss()
    raise ValueError(f"box_loss must be one of {BOX_LOSSES}, got {name!r}")


def compile_classify_localize(
    model, strategy=None, learning_rate=2e-3, box_loss="l2", box_weight=2.0, weight_decay=0.0
):
    """The multi-task compile: softmax cross-entropy + ``box_weight`` x box loss, Adam.

    ``box_weight`` balances the two terms (the lecture's hyperparameter).
    Squared errors of normalized coordinates are small next to the
    cross-entropy, yet early in training they are large enough to steer the
    shared backbone: on single-garment ``fashion_scenes`` a weight of 10
    held class accuracy at chance for the first epochs and ended lower,
    while 2 reached the same box accuracy.
    ``weight_decay`` is Adam's decoupled weight decay (AdamW): each step
    shrinks every weight by ``learning_rate * weight_decay`` of itself.
    Metrics: class accuracy, and mean IoU of the regressed box.
    """
    box_metrics = [BoxIoU()]
    if strategy is not None:
        box_metrics.append(ReplicaUsage(strategy.num_replicas_in_sync))
    model.compile(
        optimizer=FusedAdam(learning_rate, weight_decay=weight_decay or None),
        loss={
            "class_logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            "box": box_loss_by_name(box_loss),
        },
        loss_weights={"class_logits": 1.0, "box": box_weight},
        metrics={"class_logits": ["accuracy"], "box": box_metrics},
    )


def classify_localize_targets(element, image_size):
    """Dataset element -> (image resized to ``image_size``, ``{"class_logits": class, "box": box}``).

    The target is the element's first object: single-object datasets have
    exactly one. Boxes are normalized, so resizing leaves them unchanged.
    """
    image = tf.image.resize(tf.cast(element["image"], tf.float32), image_size)
    targets = {
        "class_logits": tf.cast(element["classes"][0], tf.int32),
        "box": tf.ensure_shape(tf.cast(element["boxes"][0], tf.float32), [4]),
    }
    return image, targets


def decode_classify_localize(model, outputs):
    """Raw outputs -> ``probabilities`` [N, C], ``classes`` [N] int32, ``boxes`` [N, 4].

    The regressed corners are put in order and clipped to the image, so a
    box is always valid even where the two regressed edges crossed.
    """
    probabilities = tf.nn.softmax(outputs["class_logits"], axis=-1)
    return {
        "probabilities": probabilities,
        "classes": tf.argmax(probabilities, axis=-1, output_type=tf.int32),
        "boxes": box_ops.clip_to_unit(order_corners(outputs["box"])),
    }


def order_corners(boxes):
    """Swap crossed edges: [..., 4] -> ``[min(y0, y1), min(x0, x1), max(y0, y1), max(x0, x1)]``."""
    boxes = tf.cast(boxes, tf.float32)  # float16 / bfloat16 under mixed precision
    low, high = boxes[..., :2], boxes[..., 2:]
    return tf.concat([tf.minimum(low, high), tf.maximum(low, high)], axis=-1)


@keras.saving.register_keras_serializable(package="kzoo")
class BoxIoU(keras.metrics.Mean):
    """Mean IoU between regressed and true boxes during training.

    Args:
        name: metric name.
        dtype: result dtype.

    Call arguments (``update_state``):
        y_true: true boxes [N, 4].
        y_pred: regressed boxes [N, 4] (corners in any order).
        sample_weight: optional [N] weights.

    Returns:
        The (weighted) mean IoU so far.

    Example:
        >>> m = BoxIoU()
        >>> m.update_state([[0.0, 0.0, 1.0, 1.0]], [[0.0, 0.0, 0.5, 1.0]])
        >>> float(m.result())
        0.5

    Reference:
        Russakovsky et al., "ImageNet Large Scale Visual Recognition
        Challenge", IJCV 2015 (localization by IoU).
    """

    def __init__(self, name="mean_iou", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        iou = box_ops.elementwise_iou(tf.cast(y_true, tf.float32), order_corners(y_pred))
        return super().update_state(iou, sample_weight=sample_weight)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}
