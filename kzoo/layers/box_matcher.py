"""IoU matching of anchors to ground truth, as a Keras layer."""

import keras

from kzoo.ops import matching


@keras.saving.register_keras_serializable(package="kzoo")
class BoxMatcher(keras.layers.Layer):
    """Match every anchor to a ground-truth box by IoU.

    An anchor whose best IoU is at least ``foreground_iou`` gets that box's
    index; below ``background_iou`` it is background (-1); in between it is
    ignored (-2). Padded ground truth (class -1) never matches, so an image
    without boxes is all background. With ``allow_low_quality_matches`` each
    ground-truth box also claims the anchors that overlap it most, even below
    the threshold, so that no object is left without a positive anchor.

    Args:
        foreground_iou: IoU at or above which an anchor is matched
            (RetinaNet 0.5, RPN 0.7).
        background_iou: IoU below which an anchor is background
            (RetinaNet 0.4, RPN 0.3). Must not exceed ``foreground_iou``.
        allow_low_quality_matches: add each box's best anchors (RPN rule).
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        inputs: ``[anchors, gt_boxes, gt_classes]``: anchors float32 [N, A, 4]
            (or [A, 4]), gt_boxes float32 [N, M, 4], gt_classes int [N, M]
            with -1 for padding.

    Returns:
        int32 [N, A]: the matched ground-truth index, -1 (background) or -2
        (ignore). ``kzoo.ops.matching.gather_matched`` turns it into
        per-anchor classes and boxes.

    Example:

    >>> matcher = BoxMatcher(0.7, 0.3, allow_low_quality_matches=True)
    >>> matches = matcher([anchors, gt_boxes, gt_classes])

    Reference:
        Ren et al., "Faster R-CNN: Towards Real-Time Object Detection with
        Region Proposal Networks", NeurIPS 2015 (section 3.1.2); Lin et al.,
        "Focal Loss for Dense Object Detection", ICCV 2017.
    """

    def __init__(self, foreground_iou=0.5, background_iou=0.4, allow_low_quality_matches=False, **kwargs):
        super().__init__(**kwargs)
        if background_iou > foreground_iou:
            raise ValueError(f"background_iou ({background_iou}) must not exceed foreground_iou ({foreground_iou})")
        self.foreground_iou = float(foreground_iou)
        self.background_iou = float(background_iou)
        self.allow_low_quality_matches = bool(allow_low_quality_matches)

    def call(self, inputs):
        anchors, gt_boxes, gt_classes = inputs
        return matching.match_boxes(
            anchors,
            gt_boxes,
            gt_classes,
            self.foreground_iou,
            self.background_iou,
            self.allow_low_quality_matches,
        )

    def compute_output_spec(self, inputs):
        anchors, gt_boxes, _ = inputs
        num_anchors = anchors.shape[-2]
        return keras.KerasTensor((gt_boxes.shape[0], num_anchors), dtype="int32")

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "foreground_iou": self.foreground_iou,
                "background_iou": self.background_iou,
                "allow_low_quality_matches": self.allow_low_quality_matches,
            }
        )
        return config
