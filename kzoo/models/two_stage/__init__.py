"""Region-based (two-stage) models: R-CNN, Fast R-CNN, Faster R-CNN (C4 and FPN), R-FCN, Mask R-CNN.

Every model here is read the same way (``graph.py``): backbone, region
proposals, RoI pooling, a per-RoI head, decoding, all in one inference
graph that ``kzoo.build`` returns; its training graph is built from the
same layers by ``ModelSpec.training_model`` and computes the targets, the
samples and the losses inside the graph.
"""

from kzoo.models.two_stage.fast_rcnn import build_fast_rcnn, fast_rcnn_training_model
from kzoo.models.two_stage.faster_rcnn import build_faster_rcnn, faster_rcnn_training_model
from kzoo.models.two_stage.graph import TwoStageParts
from kzoo.models.two_stage.mask_rcnn import build_keypoint_rcnn, build_mask_rcnn
from kzoo.models.two_stage.rcnn import RCNNTrainingSettings, build_rcnn, rcnn_training_model
from kzoo.models.two_stage.rfcn import build_rfcn
from kzoo.models.two_stage.settings import (
    KeypointHeadSettings,
    MaskHeadSettings,
    RoIHeadSettings,
    RPNSettings,
    TrainingSettings,
)
from kzoo.models.two_stage.training import (
    compile_two_stage,
    external_proposal_targets,
    identity_decode,
    keypoint_rcnn_targets,
    mask_rcnn_targets,
    two_stage_targets,
)

__all__ = [
    "KeypointHeadSettings",
    "MaskHeadSettings",
    "RCNNTrainingSettings",
    "RPNSettings",
    "RoIHeadSettings",
    "TrainingSettings",
    "TwoStageParts",
    "build_fast_rcnn",
    "build_rcnn",
    "build_faster_rcnn",
    "build_keypoint_rcnn",
    "build_mask_rcnn",
    "build_rfcn",
    "compile_two_stage",
    "external_proposal_targets",
    "fast_rcnn_training_model",
    "faster_rcnn_training_model",
    "identity_decode",
    "keypoint_rcnn_targets",
    "mask_rcnn_targets",
    "rcnn_training_model",
    "two_stage_targets",
]
