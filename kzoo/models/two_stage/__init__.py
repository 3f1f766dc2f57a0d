"""Region-based (two-stage) detectors: R-CNN, Fast R-CNN and Faster R-CNN (C4 and FPN).

Every model here is read the same way (``graph.py``): backbone, region
proposals, RoI pooling, a per-RoI head, decoding, all in one inference
graph that ``kzoo.build`` returns; its training graph is built from the
same layers by ``ModelSpec.training_model`` and computes the targets, the
samples and the losses inside the graph.
"""

from kzoo.models.two_stage.fast_rcnn import build_fast_rcnn, fast_rcnn_training_model
from kzoo.models.two_stage.faster_rcnn import build_faster_rcnn, faster_rcnn_training_model
from kzoo.models.two_stage.graph import TwoStageParts
from kzoo.models.two_stage.rcnn import RCNNTrainingSettings, build_rcnn, rcnn_training_model
from kzoo.models.two_stage.settings import RoIHeadSettings, RPNSettings, TrainingSettings
from kzoo.models.two_stage.training import (
    compile_two_stage,
    external_proposal_targets,
    identity_decode,
    two_stage_targets,
)

__all__ = [
    "RCNNTrainingSettings",
    "RPNSettings",
    "RoIHeadSettings",
    "TrainingSettings",
    "TwoStageParts",
    "build_fast_rcnn",
    "build_rcnn",
    "build_faster_rcnn",
    "compile_two_stage",
    "external_proposal_targets",
    "fast_rcnn_training_model",
    "faster_rcnn_training_model",
    "identity_decode",
    "rcnn_training_model",
    "two_stage_targets",
]
