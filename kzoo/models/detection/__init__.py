"""Single-stage detectors: sliding window, YOLO (v1), SSD and RetinaNet.

Each builder file also holds its target encoder (``*_targets``, run per
element in ``tf.data``: dense, fixed-shape targets), its decoder
(``decode_*``: raw head outputs to the detection predictions of
docs/design.md, "Predictions", NMS included, through
``kzoo.layers.DetectionDecoder``) and its standard ``compile_*`` (loss,
optimizer).
"""

from kzoo.models.detection.multibox_loss import HardNegativeSoftmaxLoss, hard_negative_softmax_loss
from kzoo.models.detection.retinanet import build_retinanet, compile_retinanet, decode_retinanet, retinanet_targets
from kzoo.models.detection.sliding_window import (
    build_sliding_window_detector,
    compile_sliding_window_detector,
    decode_sliding_window_detector,
    sliding_window_targets,
)
from kzoo.models.detection.ssd import build_ssd, compile_ssd, decode_ssd, ssd_targets
from kzoo.models.detection.yolo import build_yolo, compile_yolo, decode_yolo, yolo_targets
from kzoo.models.detection.yolo_loss import YoloLoss

__all__ = [
    "HardNegativeSoftmaxLoss",
    "YoloLoss",
    "build_retinanet",
    "build_sliding_window_detector",
    "build_ssd",
    "build_yolo",
    "compile_retinanet",
    "compile_sliding_window_detector",
    "compile_ssd",
    "compile_yolo",
    "decode_retinanet",
    "decode_sliding_window_detector",
    "decode_ssd",
    "decode_yolo",
    "hard_negative_softmax_loss",
    "retinanet_targets",
    "sliding_window_targets",
    "ssd_targets",
    "yolo_targets",
]
