"""The second stage shared by every two-stage detector: RoI pooling, the per-RoI head, decoding."""

from kzoo.layers import DetectionDecoder, MultiLevelRoIAlign, RoIAlign, RoIBoxHead, RoIPooling
from kzoo.models.two_stage import graph

# FPN pools each RoI from P2-P5 by its size (Lin et al., equation 1).
FPN_ROI_LEVELS = (2, 5)


def roi_pool_layer(variant, roi_heads, image_size):
    """RoIAlign on each RoI's FPN level (``"fpn"``), or RoIAlign / RoI max pooling on one map."""
    if roi_heads.pooling not in ("align", "pool"):
        raise ValueError(f"pooling must be 'align' or 'pool', got {roi_heads.pooling!r}")
    if variant == "fpn":
        if roi_heads.pooling != "align":
            raise ValueError("the FPN variant pools with RoIAlign on each RoI's level; use pooling='align'")
        low, high = FPN_ROI_LEVELS
        return MultiLevelRoIAlign(
            roi_heads.output_size, roi_heads.sampling_ratio, min_level=low, max_level=high, image_size=image_size,
            name=graph.ROI_POOL,
        )
    if roi_heads.pooling == "pool":
        return RoIPooling(roi_heads.output_size, name=graph.ROI_POOL)
    return RoIAlign(roi_heads.output_size, roi_heads.sampling_ratio, name=graph.ROI_POOL)


def box_head_layer(num_classes, roi_heads):
    """The fully connected per-RoI head of ``roi_heads``."""
    return RoIBoxHead(
        num_classes, roi_heads.representation_size, roi_heads.num_fc, roi_heads.class_specific_boxes,
        name=graph.BOX_HEAD,
    )


def two_stage_decoder(num_classes, roi_heads):
    """The second stage's decoding: softmax over C + 1, per-class deltas on the RoIs, per-class NMS."""
    return DetectionDecoder(
        num_classes,
        iou_threshold=roi_heads.iou_threshold,
        score_threshold=roi_heads.score_threshold,
        max_detections=roi_heads.max_detections,
        pre_nms_top_k=1000,
        activation="softmax",
        has_background=True,
        box_weights=roi_heads.box_weights,
        skip_empty_anchors=True,
        name=graph.DECODER,
    )
