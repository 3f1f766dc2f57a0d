"""YOLO (v1)'s output grid as boxes and class scores, as a Keras layer."""

import keras
import tensorflow as tf

from kzoo.ops import yolo as yolo_ops


@keras.saving.register_keras_serializable(package="kzoo")
class YoloBoxes(keras.layers.Layer):
    """Every box a YOLO (v1) grid predicts, with its class-specific confidences, ready for NMS.

    The raw grid's last axis holds, per cell, B boxes of ``(y, x, sqrt_h,
    sqrt_w, confidence)`` (logistic) and C class scores (softmax) shared by
    the cell's boxes (``kzoo.ops.yolo.split_yolo_output``). A box's score
    for class c is ``Pr(class c | object) * confidence``, as in the paper's
    test-time scores. Feed the outputs to ``DetectionDecoder([boxes,
    scores])`` with ``activation=None``.

    Args:
        grid_size: S, cells per side.
        boxes_per_cell: B, boxes predicted by each cell.
        num_classes: C, object classes (no background).
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        grid: float [N, S, S, 5B + C], the network's raw output.

    Returns:
        ``[boxes, scores]``: boxes float32 [N, S * S * B, 4] normalized
        ``[ymin, xmin, ymax, xmax]`` clipped to the image, in (row, column,
        box) order; scores float32 [N, S * S * B, C].

    Example:

    >>> boxes, scores = YoloBoxes(grid_size=7, boxes_per_cell=2, num_classes=20)(keras.Input((7, 7, 30)))
    >>> boxes.shape, scores.shape  # (None, 98, 4), (None, 98, 20)

    Reference:
        Redmon et al., "You Only Look Once: Unified, Real-Time Object
        Detection", CVPR 2016.
    """

    def __init__(self, grid_size=7, boxes_per_cell=2, num_classes=20, **kwargs):
        # Box coordinates and scores stay float32 under a mixed-precision policy.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if min(int(grid_size), int(boxes_per_cell), int(num_classes)) < 1:
            raise ValueError(
                f"grid_size, boxes_per_cell and num_classes must be positive, got {grid_size}, {boxes_per_cell}, "
                f"{num_classes}"
            )
        self.grid_size = int(grid_size)
        self.boxes_per_cell = int(boxes_per_cell)
        self.num_classes = int(num_classes)

    def _check(self, shape):
        s, b, c = self.grid_size, self.boxes_per_cell, self.num_classes
        if tuple(shape[1:]) != (s, s, 5 * b + c):
            raise ValueError(f"YoloBoxes(S={s}, B={b}, C={c}) takes grids [N, {s}, {s}, {5 * b + c}], got {shape}")

    def call(self, grid):
        self._check(tuple(grid.shape))
        return list(yolo_ops.yolo_detections(tf.cast(grid, tf.float32), self.boxes_per_cell))

    def compute_output_shape(self, input_shape):
        self._check(tuple(input_shape))
        count = self.grid_size * self.grid_size * self.boxes_per_cell
        return [(input_shape[0], count, 4), (input_shape[0], count, self.num_classes)]

    def get_config(self):
        config = super().get_config()
        config.update(
            {"grid_size": self.grid_size, "boxes_per_cell": self.boxes_per_cell, "num_classes": self.num_classes}
        )
        return config
