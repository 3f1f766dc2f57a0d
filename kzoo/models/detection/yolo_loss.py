"""YOLO (v1)'s sum-squared loss, on the output parameterization of ``kzoo.ops.yolo``.

The last axis of YOLO's ``S x S x (5B + C)`` output holds, for each of the B
boxes of a cell, ``(y, x, sqrt_h, sqrt_w, confidence)``, then the C class
scores of the cell (``kzoo.ops.yolo.split_yolo_output``). As in the paper,
``(y, x)`` is the box centre's offset inside its cell, ``(sqrt_h, sqrt_w)``
the square roots of its size relative to the image, and the confidence
predicts the IoU of the box with the object. The paper's last layer is
linear; here a logistic keeps each of these five in its range [0, 1] and a
softmax makes the class scores probabilities, so the sum-squared errors
cannot push them outside.
"""

import keras
import tensorflow as tf

from kzoo.ops import boxes as box_ops
from kzoo.ops.yolo import cell_corners as _cell_corners
from kzoo.ops.yolo import split_yolo_output


def yolo_loss_terms(y_true, y_pred, num_boxes, coord_weight=5.0, noobj_weight=0.5):
    """The four sums of YOLO's loss, per image.

    Args:
        y_true: [N, S, S, 6]: per cell the box ``[ymin, xmin, ymax, xmax]`` of
            the object whose centre falls in it, 1 if there is one (else 0),
            and its class (``yolo_targets``).
        y_pred: YOLO output [N, S, S, 5B + C].
        num_boxes: B.
        coord_weight: lambda_coord (5 in the paper).
        noobj_weight: lambda_noobj (0.5 in the paper).

    Returns:
        dict of [N] tensors ``coordinates`` (weighted), ``object_confidence``,
        ``no_object_confidence`` (weighted) and ``classes``. In a cell with an
        object, the predictor "responsible" for it is the one whose box has
        the highest IoU with it; its confidence target is that IoU.
    """
    y_pred = tf.convert_to_tensor(y_pred)
    y_true = tf.cast(y_true, y_pred.dtype)
    parts = split_yolo_output(y_pred, num_boxes)
    grid_h, grid_w = y_pred.shape[1], y_pred.shape[2]
    gt_boxes, has_object = y_true[..., :4], y_true[..., 4]
    gt_classes = tf.cast(tf.round(y_true[..., 5]), tf.int32)

    cy, cx, h, w = box_ops.centers_and_sizes(gt_boxes)
    rows, cols = _cell_corners(grid_h, grid_w)
    target_offsets = tf.stack([cy * grid_h - rows[..., 0], cx * grid_w - cols[..., 0]], axis=-1)
    target_sqrt = tf.sqrt(tf.maximum(tf.stack([h, w], axis=-1), 0.0))
    iou = box_ops.elementwise_iou(parts["boxes"], gt_boxes[..., None, :])  # [N, S, S, B]
    responsible = tf.one_hot(tf.argmax(iou, axis=-1), num_boxes, dtype=y_pred.dtype) * has_object[..., None]

    squared = tf.reduce_sum(
        tf.square(parts["offsets"] - target_offsets[..., None, :])
        + tf.square(parts["sqrt_sizes"] - target_sqrt[..., None, :]),
        axis=-1,
    )
    confidence = parts["confidence"]
    num_classes = parts["class_probs"].shape[-1]
    class_error = tf.reduce_sum(
        tf.square(parts["class_probs"] - tf.one_hot(tf.maximum(gt_classes, 0), num_classes, dtype=y_pred.dtype)), -1
    )

    def per_image(x):
        return tf.reduce_sum(x, axis=list(range(1, x.shape.rank)))

    # where (not a product) keeps cells without objects at exactly zero.
    return {
        "coordinates": coord_weight * per_image(tf.where(responsible > 0, squared, 0.0)),
        "object_confidence": per_image(tf.where(responsible > 0, tf.square(confidence - tf.stop_gradient(iou)), 0.0)),
        "no_object_confidence": noobj_weight * per_image(tf.where(responsible > 0, 0.0, tf.square(confidence))),
        "classes": per_image(tf.where(has_object > 0, class_error, 0.0)),
    }


@keras.saving.register_keras_serializable(package="kzoo")
class YoloLoss(keras.losses.Loss):
    """YOLO's multi-part sum-squared error, summed over the grid and averaged over images.

    ``lambda_coord * sum_obj [(y - y^)^2 + (x - x^)^2 + (sqrt h - sqrt h^)^2 + (sqrt w - sqrt w^)^2]
    + sum_obj (C - C^)^2 + lambda_noobj * sum_noobj (C - C^)^2
    + sum_cells_with_object sum_c (p(c) - p^(c))^2``, where ``obj`` are the
    responsible predictors (``yolo_loss_terms``). With no object in an image
    its coordinate, object and class terms are exactly 0.

    Args:
        num_boxes: B, boxes per cell.
        coord_weight: lambda_coord.
        noobj_weight: lambda_noobj.
        reduction: Keras reduction (the mean over images by default).
        name: loss name.
        dtype: computation dtype.

    Call arguments:
        y_true: [N, S, S, 6] cell targets (``yolo_targets``).
        y_pred: [N, S, S, 5B + C] YOLO output.

    Returns:
        The loss.

    Example:
        >>> loss = YoloLoss(num_boxes=2)
        >>> value = loss(tf.zeros([1, 7, 7, 6]), tf.zeros([1, 7, 7, 2 * 5 + 3]))

    Reference:
        Redmon et al., "You Only Look Once: Unified, Real-Time Object
        Detection", CVPR 2016 (section 2.2, equation 3).
    """

    def __init__(
        self,
        num_boxes=2,
        coord_weight=5.0,
        noobj_weight=0.5,
        reduction="sum_over_batch_size",
        name="yolo_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.num_boxes = int(num_boxes)
        self.coord_weight = float(coord_weight)
        self.noobj_weight = float(noobj_weight)

    def call(self, y_true, y_pred):
        terms = yolo_loss_terms(y_true, y_pred, self.num_boxes, self.coord_weight, self.noobj_weight)
        return tf.add_n(list(terms.values()))

    def get_config(self):
        config = super().get_config()
        config.update(
            {"num_boxes": self.num_boxes, "coord_weight": self.coord_weight, "noobj_weight": self.noobj_weight}
        )
        return config
