"""The one explicit map from model names to builders, decoders and data."""

import dataclasses
from typing import Callable

from kzoo.models import classification
from kzoo.models import localization
from kzoo.models import pose
from kzoo.models import detection
from kzoo.models import segmentation
from kzoo.models import two_stage
from kzoo.models.decoding import identity_decode
from kzoo.models.classification.evaluate import evaluate as evaluate_classification
from kzoo.models.detection.evaluate import evaluate as evaluate_detection
from kzoo.models.localization.evaluate import evaluate as evaluate_localization
from kzoo.models.pose.evaluate import evaluate as evaluate_pose
from kzoo.models.segmentation.evaluate import evaluate as evaluate_segmentation
from kzoo.models.two_stage.evaluate import evaluate_instance_segmentation, evaluate_keypoint_detection

# The small region-based configuration of the tests: narrow heads, few proposals and detections.
_SMALL_RPN = {"num_channels": 32, "pre_nms_top_k": 200, "post_nms_top_k": 32}


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """How to build, feed, decode and judge one registered model.

    Attributes:
        build: builder returning a functional ``keras.Model``: of raw
            outputs that ``decode`` turns into predictions, or of the
            predictions themselves (every detector).
        decode: ``decode(model, outputs)`` -> the prediction dict
            (graph-safe TF ops; ``model`` gives access to its layers' config);
            the identity for models that decode inside their graph.
        compile: ``compile(model, strategy=None)``: the standard loss,
            optimizer and metrics, for the model ``fit`` trains (the training
            graph when there is one).
        targets: ``targets(element, image_size)`` -> ``(inputs, targets)`` for
            ``model.fit``, images resized to the model's (height, width).
        evaluate: ``evaluate(elements, predictions, info)`` -> dict of metrics:
            how the model is judged on a split (``elements`` the dataset
            elements, ``predictions`` one decoded prediction dict each,
            ``info`` the dataset's ``kzoo.data.DatasetInfo``).
        task: the task family ("classification", "segmentation", ...).
        dataset: the built-in dataset it trains on by default.
        training_model: ``training_model(model, settings=None)`` -> the
            graph ``fit`` trains, built from the model's own layers (so they
            share weights), for models whose built graph ends in its
            predictions: the region-based detectors' graph of losses, whose
            targets are built inside it, and the single-stage detectors' raw
            head outputs; None when ``fit`` trains the model itself on
            ``targets``.
        small_config: builder arguments of a small configuration, for tests
            and quick tries (besides the tiny backbone).
    """

    build: Callable
    decode: Callable
    compile: Callable
    targets: Callable
    evaluate: Callable
    task: str
    dataset: str
    training_model: Callable | None = None
    small_config: dict = dataclasses.field(default_factory=dict)


_SSD = ModelSpec(
    build=detection.build_ssd,
    decode=identity_decode,
    compile=detection.compile_ssd,
    targets=detection.ssd_targets,
    evaluate=evaluate_detection,
    task="detection",
    dataset="shapes",
    training_model=detection.raw_outputs_model,
)

MODELS = {
    "classifier": ModelSpec(
        build=classification.build_classifier,
        decode=classification.decode_classifier,
        compile=classification.compile_classifier,
        targets=classification.classifier_targets,
        evaluate=evaluate_classification,
        task="classification",
        dataset="fashion_scenes/single",
    ),
    "classify_localize": ModelSpec(
        build=localization.build_classify_localize,
        decode=localization.decode_classify_localize,
        compile=localization.compile_classify_localize,
        targets=localization.classify_localize_targets,
        evaluate=evaluate_localization,
        task="classification_localization",
        dataset="fashion_scenes/single",
    ),
    "deeppose": ModelSpec(
        build=pose.build_deeppose,
        decode=pose.decode_deeppose,
        compile=pose.compile_deeppose,
        targets=pose.deeppose_targets,
        evaluate=evaluate_pose,
        task="pose",
        dataset="stick_figures/single",
    ),
    # Semantic segmentation: logits [N, H, W, num_classes + 1], channel 0 the background.
    **{
        name: ModelSpec(
            build=builder,
            decode=segmentation.decode_segmentation,
            compile=segmentation.compile_segmentation,
            targets=segmentation.segmentation_targets,
            evaluate=evaluate_segmentation,
            task="segmentation",
            dataset="shapes",
        )
        for name, builder in {
            "sliding_window_segmenter": segmentation.build_sliding_window_segmenter,
            "fcn32s": segmentation.build_fcn32s,
            "fcn16s": segmentation.build_fcn16s,
            "fcn8s": segmentation.build_fcn8s,
            "deconvnet": segmentation.build_deconvnet,
            "unet": segmentation.build_unet,
        }.items()
    },
    # Single-stage detectors: detections come out of the graph; fit trains the raw head outputs.
    "retinanet": ModelSpec(
        build=detection.build_retinanet,
        decode=identity_decode,
        compile=detection.compile_retinanet,
        targets=detection.retinanet_targets,
        evaluate=evaluate_detection,
        task="detection",
        dataset="shapes",
        training_model=detection.raw_outputs_model,
        # Untrained, every anchor scores within ~1e-5 of the prior: at the paper's 0.01 nothing passes the
        # 0.05 threshold, and near-ties at the cut would let TF's and TFLite's NMS keep different boxes.
        # A prior of 0.5 gives detections, with logits near 0 (finely resolved in float32), and a short
        # subnet and few detections keep the best, best separated scores.
        small_config=dict(num_channels=32, num_convs=1, prior_probability=0.5, max_detections=10),
    ),
    "sliding_window_detector": ModelSpec(
        build=detection.build_sliding_window_detector,
        decode=identity_decode,
        compile=detection.compile_sliding_window_detector,
        targets=detection.sliding_window_targets,
        evaluate=evaluate_detection,
        task="detection",
        dataset="shapes",
        training_model=detection.raw_outputs_model,
    ),
    "ssd": _SSD,
    # SSD with separable convolutions after the backbone: SSD's targets, losses and decoding.
    "ssdlite": dataclasses.replace(_SSD, build=detection.build_ssdlite, small_config=dict(extra_channels=16)),
    "yolo": ModelSpec(
        build=detection.build_yolo,
        decode=identity_decode,
        compile=detection.compile_yolo,
        targets=detection.yolo_targets,
        evaluate=evaluate_detection,
        task="detection",
        dataset="shapes",
        training_model=detection.raw_outputs_model,
    ),
    # Region-based detectors: detections come out of the graph; training builds its own graph.
    "rcnn": ModelSpec(
        build=two_stage.build_rcnn,
        decode=identity_decode,
        compile=two_stage.compile_two_stage,
        targets=two_stage.external_proposal_targets,
        evaluate=evaluate_detection,
        task="detection",
        dataset="shapes",
        training_model=two_stage.rcnn_training_model,
        small_config=dict(num_proposals=16, crop_size=32, representation_size=16),
    ),
    "fast_rcnn": ModelSpec(
        build=two_stage.build_fast_rcnn,
        decode=identity_decode,
        compile=two_stage.compile_two_stage,
        targets=two_stage.external_proposal_targets,
        evaluate=evaluate_detection,
        task="detection",
        dataset="shapes",
        training_model=two_stage.fast_rcnn_training_model,
        # RoIAlign in the small configuration: RoI max pooling of an untrained model gives many RoIs equal
        # scores, and TF's and TFLite's NMS may keep different boxes among exact ties.
        small_config=dict(num_proposals=32, roi_heads={"representation_size": 64, "pooling": "align"}),
    ),
    "faster_rcnn": ModelSpec(
        build=two_stage.build_faster_rcnn,
        decode=identity_decode,
        compile=two_stage.compile_two_stage,
        targets=two_stage.two_stage_targets,
        evaluate=evaluate_detection,
        task="detection",
        dataset="shapes",
        training_model=two_stage.faster_rcnn_training_model,
        small_config=dict(fpn_channels=32, rpn=_SMALL_RPN, roi_heads={"representation_size": 64}),
    ),
    "rfcn": ModelSpec(
        build=two_stage.build_rfcn,
        decode=identity_decode,
        compile=two_stage.compile_two_stage,
        targets=two_stage.two_stage_targets,
        evaluate=evaluate_detection,
        task="detection",
        dataset="shapes",
        training_model=two_stage.faster_rcnn_training_model,
        small_config=dict(channels=32, output_size=3, rpn=_SMALL_RPN, roi_heads={"max_detections": 10}),
    ),
    # Instance segmentation and keypoint detection: Faster R-CNN FPN with Mask R-CNN's heads.
    "mask_rcnn": ModelSpec(
        build=two_stage.build_mask_rcnn,
        decode=identity_decode,
        compile=two_stage.compile_two_stage,
        targets=two_stage.mask_rcnn_targets,
        evaluate=evaluate_instance_segmentation,
        task="instance_segmentation",
        dataset="shapes",
        training_model=two_stage.faster_rcnn_training_model,
        small_config=dict(
            fpn_channels=32, rpn=_SMALL_RPN, roi_heads={"representation_size": 64, "max_detections": 10},
            mask_head={"num_convs": 2, "channels": 16},
        ),
    ),
    "keypoint_rcnn": ModelSpec(
        build=two_stage.build_keypoint_rcnn,
        decode=identity_decode,
        compile=two_stage.compile_two_stage,
        targets=two_stage.keypoint_rcnn_targets,
        evaluate=evaluate_keypoint_detection,
        task="keypoint_detection",
        dataset="stick_figures",
        training_model=two_stage.faster_rcnn_training_model,
        small_config=dict(
            fpn_channels=32, rpn=_SMALL_RPN, roi_heads={"representation_size": 64, "max_detections": 10},
            keypoint_head={"num_convs": 2, "channels": 16},
        ),
    ),
}


def list_models():
    """Registered model names."""
    return sorted(MODELS)


def get_spec(name):
    """The ``ModelSpec`` of model ``name``."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {list_models()}")
    return MODELS[name]


def spec_of(model):
    """The ``ModelSpec`` of a built or reloaded model (builders name models after their registry key)."""
    if model.name not in MODELS:
        raise ValueError(
            f"model {model.name!r} is not a registered kzoo model; kzoo builders name their models "
            f"after one of {list_models()}"
        )
    return MODELS[model.name]


def build(name, **kwargs):
    """Build registered model ``name`` with its builder's keyword arguments."""
    return get_spec(name).build(**kwargs)
