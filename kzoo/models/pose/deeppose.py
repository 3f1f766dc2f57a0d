"""DeepPose: human pose estimation as regression of joint coordinates.

Toshev and Szegedy regress the ``(x, y)`` of all ``J`` joints from the whole
image with an AlexNet whose last layer has ``2J`` outputs, trained with an
L2 loss. A cascade of refinement stages then improves each joint from a
higher-resolution crop around its current estimate (``DeepPoseRefinement``).

Raw output (what ``model.fit`` sees): ``keypoints`` [N, S, J, 2], the
normalized (y, x) estimate after each of the ``S = 1 + refinement_stages``
stages, so every stage is trained on its own error (``CascadeKeypointLoss``).
Decoding keeps the last stage.
"""

import dataclasses

import keras
import tensorflow as tf
from keras import layers

from kzoo.metrics.replica_usage import ReplicaUsage
from kzoo.models.fixed_input_backbone import build_fixed_input_backbone
from kzoo.models.pose.cascade_loss import CascadeKeypointLoss, FinalStagePCK
from kzoo.models.pose.deeppose_refinement import DeepPoseRefinement
from kzoo.optimizers import FusedAdam


@dataclasses.dataclass(frozen=True)
class CascadeConfig:
    """The refinement stages of DeepPose (see ``DeepPoseRefinement`` for each field).

    Attributes:
        stages: number of refinement stages after the initial regressor.
        crop_size: side of each joint's resampled crop, in pixels.
        box_scale: crop side as a multiple of the torso diameter.
        torso_joints: joint pair whose distance is the torso diameter.
        filters: conv widths of each stage's network.
        hidden_units: width of each stage's fully connected layer.
        jitter: training-time shift of the previous estimate, in crop sides.
    """

    stages: int = 1
    crop_size: int = 16
    box_scale: float = 1.0
    torso_joints: tuple = (9, 2)
    filters: tuple = (16, 32, 64)
    hidden_units: int = 128
    jitter: float = 0.0


def build_deeppose(
    num_classes=1,
    backbone="tiny",
    input_shape=(64, 64, 3),
    weights=None,
    num_keypoints=14,
    feature_level="P5",
    hidden_units=512,
    dropout=0.2,
    cascade=None,
):
    """DeepPose: a joint regressor plus optional cascade refinement stages.

    Args:
        num_classes: classes of the dataset; pose has one figure class and
            the value is not used (kept so every builder takes it).
        backbone: a name from ``kzoo.backbones.list_backbones()``;
            ``"alexnet"`` is the paper's network.
        input_shape: (H, W, 3) of the float RGB images in [0, 255], fixed.
        weights: backbone weights (None, ``"imagenet"`` or a file path).
        num_keypoints: number of joints ``J`` (14 in LSP and ``stick_figures``).
        feature_level: backbone level the regressor reads ("P2".."P5"),
            flattened so that joint positions stay in the features.
        hidden_units: width of the fully connected layer before the ``2J``
            outputs.
        dropout: dropout rate before the output layer.
        cascade: a ``CascadeConfig``; None means the standard one (one
            refinement stage). ``CascadeConfig(stages=0)`` is the plain
            regressor.

    Returns:
        A functional ``keras.Model`` named ``"deeppose"`` mapping images to
        keypoints [N, 1 + cascade.stages, J, 2].
    """
    del num_classes
    cascade = CascadeConfig() if cascade is None else cascade
    features = build_fixed_input_backbone(backbone, input_shape, feature_level, weights)

    images = keras.Input(input_shape, name="images")
    x = features(images)[feature_level]
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(hidden_units, activation="relu", name="fc")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    # Starting at the image centre: the paper's coordinates are relative to
    # the centre of the person box, which is the whole image here.
    x = layers.Dense(2 * num_keypoints, bias_initializer=keras.initializers.Constant(0.5), name="joints")(x)
    keypoints = layers.Reshape((num_keypoints, 2), name="stage_0")(x)
    estimates = [keypoints]
    for stage in range(1, cascade.stages + 1):
        keypoints = DeepPoseRefinement(
            num_keypoints,
            crop_size=cascade.crop_size,
            box_scale=cascade.box_scale,
            torso_joints=cascade.torso_joints,
            filters=cascade.filters,
            hidden_units=cascade.hidden_units,
            jitter=cascade.jitter,
            seed=stage,
            name=f"stage_{stage}",
        )([images, keypoints])
        estimates.append(keypoints)
    stacked = [layers.Reshape((1, num_keypoints, 2), name=f"stage_{i}_expanded")(e) for i, e in enumerate(estimates)]
    outputs = stacked[0] if len(stacked) == 1 else layers.Concatenate(axis=1, name="keypoints")(stacked)
    return keras.Model(images, outputs, name="deeppose")


def compile_deeppose(model, strategy=None, learning_rate=1e-3, norm="l2"):
    """The standard compile: visibility-weighted L2 on every stage, Adam, PCK@0.2 of the last stage.

    With a ``strategy``, a ``ReplicaUsage`` metric also reports the examples
    each replica computed.
    """
    metrics = [FinalStagePCK(alpha=0.2)]
    if strategy is not None:
        metrics.append(ReplicaUsage(strategy.num_replicas_in_sync))
    model.compile(
        optimizer=FusedAdam(learning_rate),
        loss=CascadeKeypointLoss(norm=norm),
        metrics=metrics,
    )


def deeppose_targets(element, image_size):
    """Dataset element -> (image resized to ``image_size``, keypoints [J, 3] of its first figure).

    Keypoints are normalized (y, x, visible), so resizing leaves them
    unchanged; joints with ``visible = 0`` add nothing to the loss.
    """
    image = tf.image.resize(tf.cast(element["image"], tf.float32), image_size)
    return image, tf.cast(element["keypoints"][0], tf.float32)


def decode_deeppose(model, outputs):
    """Raw per-stage keypoints [N, S, J, 2] -> ``keypoints`` [N, J, 2] of the last stage, clipped to the image."""
    return {"keypoints": tf.clip_by_value(outputs[:, -1], 0.0, 1.0)}
