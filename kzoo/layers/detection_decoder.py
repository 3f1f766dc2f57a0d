"""Detection post-processing (decode, score threshold, NMS), as a Keras layer."""

import math

import keras
import tensorflow as tf

from kzoo.ops import box_coding
from kzoo.ops import boxes as box_ops
from kzoo.ops import nms as nms_ops

_ACTIVATIONS = (None, "sigmoid", "softmax")


def _logit(p):
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return math.log(p / (1.0 - p))


@keras.saving.register_keras_serializable(package="kzoo")
class DetectionDecoder(keras.layers.Layer):
    """Turn raw detector head outputs into the padded detection dict.

    Turns class outputs into scores, keeps the ``pre_nms_top_k`` best
    candidates, decodes their box deltas against their anchors (``BoxCoder``
    convention), clips the boxes to the image, and runs per-class (or
    class-agnostic) NMS with a fixed number of outputs. Built from TFLite
    builtin ops only (NON_MAX_SUPPRESSION_V5, TOPK_V2, GATHER, WHILE), so it
    stays inside a converted model.

    Only the candidates are decoded, and with ``activation="sigmoid"`` they
    are selected and thresholded on the logits (against
    ``logit(score_threshold)``) with only the survivors going through the
    sigmoid: the result is the same as decoding and activating everything.

    Args:
        num_classes: C, the number of object classes (no background).
        iou_threshold: NMS IoU above which the lower-scoring box is dropped.
        score_threshold: detections must score above this.
        max_detections: K, detections per image (outputs are padded to K).
        class_agnostic: one NMS over all classes (each anchor takes its best
            class) instead of one per class.
        pre_nms_top_k: candidates per image entering NMS: the best (anchor,
            class) pairs, or the best anchors if ``class_agnostic``.
        activation: ``"sigmoid"`` (RetinaNet logits), ``"softmax"`` (SSD,
            Faster R-CNN logits) or ``None`` (inputs are already scores).
        has_background: the class input has ``C + 1`` columns with background
            first (SSD, Faster R-CNN); the column is dropped after the activation.
        box_weights: ``(wy, wx, wh, ww)`` of the box coding.
        skip_empty_anchors: anchors of zero area never give a detection
            (two-stage detectors decode against proposals padded with zero
            boxes).
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        inputs: ``[box_deltas, class_outputs, anchors]``: box_deltas float32
            [N, A, 4], or [N, A, C, 4] with a set of deltas per class (Fast
            R-CNN; each candidate uses its class's deltas), class_outputs float32 [N, A, C] (or C + 1), anchors
            float32 [N, A, 4] (``AnchorGenerator``'s output) or [A, 4].
            Or ``[boxes, class_outputs]`` with boxes float32 [N, A, 4] already
            decoded (YOLO's grid, the sliding window's windows): nothing is
            decoded, the rest is the same (``box_weights`` is unused).

    Returns:
        dict, as docs/design.md ("Predictions") names detection predictions:
        ``detection_boxes`` float32 [N, K, 4] normalized ``[ymin, xmin, ymax, xmax]``,
        ``detection_scores`` float32 [N, K], ``detection_classes`` int32 [N, K]
        (0-based class ids; int32 like the dataset's ``classes``, not the TF
        Object Detection API's float32), ``num_detections`` int32 [N].
        Detections are sorted by score; entries past ``num_detections`` are 0.

    Example:

    >>> decoder = DetectionDecoder(num_classes=20, iou_threshold=0.5,
    ...                            score_threshold=0.05, max_detections=100)
    >>> detections = decoder([box_deltas, class_logits, anchors])
    >>> detections = decoder([boxes, class_logits])  # already decoded boxes

    Reference:
        Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017
        (inference section); Neubeck and Van Gool, "Efficient Non-Maximum
        Suppression", ICPR 2006.
    """

    def __init__(
        self,
        num_classes,
        iou_threshold=0.5,
        score_threshold=0.05,
        max_detections=100,
        class_agnostic=False,
        pre_nms_top_k=1000,
        activation="sigmoid",
        has_background=False,
        box_weights=box_coding.DEFAULT_WEIGHTS,
        skip_empty_anchors=False,
        **kwargs,
    ):
        # float16 would blur scores and box coordinates that NMS compares exactly.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {_ACTIVATIONS}, got {activation!r}")
        if len(box_weights) != 4:
            raise ValueError(f"box_weights must have 4 entries (wy, wx, wh, ww), got {box_weights}")
        self.num_classes = int(num_classes)
        self.iou_threshold = float(iou_threshold)
        self.score_threshold = float(score_threshold)
        self.max_detections = int(max_detections)
        self.class_agnostic = bool(class_agnostic)
        self.pre_nms_top_k = int(pre_nms_top_k)
        self.activation = activation
        self.has_background = bool(has_background)
        self.box_weights = tuple(float(w) for w in box_weights)
        self.skip_empty_anchors = bool(skip_empty_anchors)

    def nms(self, boxes, scores):
        """NMS on decoded boxes [N, A, 4] and scores [N, A, C]; returns the detection dict."""
        return nms_ops.multiclass_nms(
            boxes,
            scores,
            max_detections=self.max_detections,
            iou_threshold=self.iou_threshold,
            score_threshold=self.score_threshold,
            pre_nms_top_k=self.pre_nms_top_k,
            class_agnostic=self.class_agnostic,
        )

    def _scores(self, class_outputs):
        # Sigmoid outputs stay logits here: the sigmoid is applied to the survivors in ``call``.
        if self.activation == "softmax":
            class_outputs = tf.nn.softmax(class_outputs, axis=-1)
        if self.has_background:
            class_outputs = class_outputs[..., 1:]
        return class_outputs

    def call(self, inputs):
        if len(inputs) not in (2, 3):
            raise ValueError("DetectionDecoder takes [box_deltas, class_outputs, anchors] or [boxes, class_outputs]")
        box_deltas, class_outputs = (tf.cast(x, tf.float32) for x in inputs[:2])
        # Already decoded boxes: each is its own "anchor", and nothing is decoded.
        decoded = len(inputs) == 2
        anchors = box_deltas if decoded else tf.cast(inputs[2], tf.float32)
        expected = self.num_classes + int(self.has_background)
        if class_outputs.shape[-1] is not None and class_outputs.shape[-1] != expected:
            raise ValueError(f"class outputs need {expected} columns, got shape {class_outputs.shape}")
        scores = self._scores(class_outputs)
        if self.skip_empty_anchors:
            empty = box_ops.area(anchors) <= 0.0
            if anchors.shape.rank == 2:
                empty = empty[None]
            # Below any threshold: -1 for probabilities, a hopeless logit for sigmoid outputs.
            floor = -1e9 if self.activation == "sigmoid" else -1.0
            scores = tf.where(empty[..., None], floor, scores)
        # Candidates are chosen before decoding, so only pre_nms_top_k boxes per image are decoded.
        anchor_index, scores, classes = nms_ops.select_top_candidates(scores, self.pre_nms_top_k, self.class_agnostic)
        batch_dims = 1 if anchors.shape.rank == 3 else 0
        anchors = tf.gather(anchors, anchor_index, batch_dims=batch_dims)
        if decoded:
            boxes = tf.clip_by_value(anchors, 0.0, 1.0)
        else:
            deltas = tf.gather(box_deltas, anchor_index, batch_dims=1)
            if deltas.shape.rank == 4:
                # Class-specific deltas: each candidate takes its own class's (one shared set is class 0).
                own = classes if deltas.shape[2] > 1 else tf.zeros_like(classes)
                deltas = tf.gather(deltas, own, batch_dims=2)
            boxes = tf.clip_by_value(box_coding.decode_boxes(deltas, anchors, self.box_weights), 0.0, 1.0)
        sigmoid = self.activation == "sigmoid"
        detections = nms_ops.nms_candidates(
            boxes,
            scores,
            classes,
            self.num_classes,
            self.max_detections,
            self.iou_threshold,
            _logit(self.score_threshold) if sigmoid else self.score_threshold,
            self.class_agnostic,
        )
        if sigmoid:
            valid = tf.range(self.max_detections)[None, :] < detections["num_detections"][:, None]
            detections["detection_scores"] = tf.where(valid, tf.sigmoid(detections["detection_scores"]), 0.0)
        return detections

    def compute_output_spec(self, inputs):
        batch = inputs[0].shape[0]
        k = self.max_detections
        return {
            "detection_boxes": keras.KerasTensor((batch, k, 4), dtype="float32"),
            "detection_scores": keras.KerasTensor((batch, k), dtype="float32"),
            "detection_classes": keras.KerasTensor((batch, k), dtype="int32"),
            "num_detections": keras.KerasTensor((batch,), dtype="int32"),
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "iou_threshold": self.iou_threshold,
                "score_threshold": self.score_threshold,
                "max_detections": self.max_detections,
                "class_agnostic": self.class_agnostic,
                "pre_nms_top_k": self.pre_nms_top_k,
                "activation": self.activation,
                "has_background": self.has_background,
                "box_weights": list(self.box_weights),
                "skip_empty_anchors": self.skip_empty_anchors,
            }
        )
        return config
