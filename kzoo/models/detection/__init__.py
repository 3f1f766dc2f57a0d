"""Single-stage detectors: sliding window, YOLO (v1), SSD, SSDLite and RetinaNet.

Each builder returns the inference model: images to the detection
predictions of docs/design.md ("Predictions"), with its anchors (default
boxes, grid, windows) and its decoder (``kzoo.layers.DetectionDecoder``,
NMS included) as layers inside the graph, whose configs hold every decoding
setting. The raw head outputs stay named layers of that graph;
``raw_outputs_model`` (the models' ``ModelSpec.training_model``) is the
graph of those outputs that ``fit`` trains, sharing the model's layers.
Each builder file also holds its target encoder (``*_targets``, run per
element in ``tf.data``: dense, fixed-shape targets for the raw outputs) and
its standard ``compile_*`` (loss, optimizer) of the raw-output model.
"""

from kzoo.models.detection.multibox_loss import HardNegativeSoftmaxLoss, hard_negative_softmax_loss
from kzoo.models.detection.retinanet import build_retinanet, compile_retinanet, retinanet_targets
from kzoo.models.detection.sliding_window import (
    build_sliding_window_detector,
    compile_sliding_window_detector,
    sliding_window_targets,
)
from kzoo.models.detection.ssd import build_ssd, compile_ssd, ssd_targets
from kzoo.models.detection.ssdlite import build_ssdlite
from kzoo.models.detection.training_graph import raw_outputs_model
from kzoo.models.detection.yolo import build_yolo, compile_yolo, yolo_targets
from kzoo.models.detection.yolo_loss import YoloLoss

__all__ = [
    "HardNegativeSoftmaxLoss",
    "YoloLoss",
    "build_retinanet",
    "build_sliding_window_detector",
    "build_ssd",
    "build_ssdlite",
    "build_yolo",
    "compile_retinanet",
    "compile_sliding_window_detector",
    "compile_ssd",
    "compile_yolo",
    "hard_negative_softmax_loss",
    "raw_outputs_model",
    "retinanet_targets",
    "sliding_window_targets",
    "ssd_targets",
    "yolo_targets",
]
