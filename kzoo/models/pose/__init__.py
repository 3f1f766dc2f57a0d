"""Pose estimation: DeepPose, joint regression with cascade refinement."""

from kzoo.models.pose.cascade_loss import CascadeKeypointLoss, FinalStagePCK
from kzoo.models.pose.deeppose import (
    CascadeConfig,
    build_deeppose,
    compile_deeppose,
    decode_deeppose,
    deeppose_targets,
)
from kzoo.models.pose.deeppose_refinement import DeepPoseRefinement
