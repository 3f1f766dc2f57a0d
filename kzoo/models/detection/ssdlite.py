"""SSDLite: SSD with depthwise-separable convolutions after the backbone, the mobile detector of MobileNetV2."""

from kzoo.models.detection.ssd import ssd_model


def build_ssdlite(
    num_classes,
    backbone="mobilenet_v2",
    input_shape=(320, 320, 3),
    weights=None,
    extra_channels=256,
    score_threshold=0.05,
    iou_threshold=0.45,
    max_detections=100,
    pre_nms_top_k=1000,
):
    """SSDLite (Sandler et al., MobileNetV2, section 6.2): SSD whose prediction and extra layers are separable.

    Every 3x3 convolution after the backbone becomes a depthwise 3x3
    convolution (batch norm, ReLU6) followed by a 1x1 convolution; the extra
    feature layers (1x1 reduction, stride-2 separable 3x3) use batch norm and
    ReLU6 too. Levels, default boxes, targets (``ssd_targets``), losses
    (``compile_ssd``) and the in-graph decoder are SSD's (``build_ssd``), so
    the two differ only in the cost of their head: on MobileNetV2 at 320
    pixels the head is a small share, and the backbone sets the latency.

    Args:
        num_classes: number of object classes (no background).
        backbone: a name from ``kzoo.backbones.list_backbones()`` with
            "same"-padded levels (``mobilenet_v2`` in the paper).
        input_shape: (H, W, 3) of float RGB images in [0, 255] (320 in the paper).
        weights: backbone weights (None, ``"imagenet"`` or a file path).
        extra_channels: channels of the extra feature layers.
        score_threshold, iou_threshold, max_detections, pre_nms_top_k: the
            decoder's settings, as ``build_ssd``'s.

    Returns:
        A functional ``keras.Model`` named ``"ssdlite"`` with SSD's outputs:
        the detection dict, and the raw ``"box_deltas"`` and ``"class_logits"``.

    Reference:
        Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018.
    """
    return ssd_model(
        num_classes, backbone, input_shape, weights, extra_channels, score_threshold, iou_threshold,
        max_detections, pre_nms_top_k, separable=True, name="ssdlite",
    )
