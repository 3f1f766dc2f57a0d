"""The settings of a two-stage detector, grouped by stage (torchvision's ``rpn_*`` and ``box_*``).

``RPNSettings`` and ``RoIHeadSettings`` are the builder's: they shape the
inference graph and live in its layers' configs (anchors, proposal counts,
NMS, score threshold), so a reloaded checkpoint decodes exactly as it was
built. ``TrainingSettings`` shape only the training graph, which is built
on demand from a model (``training_model(model, settings)``): proposal
counts while training, samples per image and matching thresholds.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class RPNSettings:
    """The Region Proposal Network.

    Attributes:
        anchor_sizes: base anchor size in pixels of each RPN level; None
            picks 4 x stride per level (FPN) or 16 px at stride 16 (C4), sized
            for the built-in 128-pixel datasets (the papers use 8 x stride
            with FPN and 128 px with scales 1, 2, 4 at stride 16 on 600-1000
            pixel images).
        anchor_scales: size multipliers at every level; None picks (1,) with
            FPN and (1, 2, 4) for C4 (3 scales x 3 aspect ratios).
        aspect_ratios: width / height of the anchors.
        num_channels: channels of the RPN's 3x3 convolution.
        pre_nms_top_k, post_nms_top_k: proposals before and after NMS at test time.
        iou_threshold: proposal NMS threshold.
    """

    anchor_sizes: tuple | None = None
    anchor_scales: tuple | None = None
    aspect_ratios: tuple = (0.5, 1.0, 2.0)
    num_channels: int = 256
    pre_nms_top_k: int = 1000
    post_nms_top_k: int = 300
    iou_threshold: float = 0.7


@dataclasses.dataclass(frozen=True)
class RoIHeadSettings:
    """The per-RoI second stage (Fast R-CNN's head).

    Attributes:
        pooling: ``"align"`` (RoIAlign) or ``"pool"`` (RoI max pooling, single-map models only).
        output_size: pooled grid side (7).
        sampling_ratio: RoIAlign's bilinear samples per bin and axis.
        representation_size, num_fc: the fully connected layers.
        class_specific_boxes: one set of box deltas per class.
        box_weights: ``(wy, wx, wh, ww)`` of the second stage's box coding.
        score_threshold, iou_threshold, max_detections: test-time decoding
            (per-class NMS).
    """

    pooling: str = "align"
    output_size: int = 7
    sampling_ratio: int = 2
    representation_size: int = 1024
    num_fc: int = 2
    class_specific_boxes: bool = True
    box_weights: tuple = (10.0, 10.0, 5.0, 5.0)
    score_threshold: float = 0.05
    iou_threshold: float = 0.5
    max_detections: int = 100


@dataclasses.dataclass(frozen=True)
class MaskHeadSettings:
    """Mask R-CNN's mask head.

    Attributes:
        output_size: RoIAlign grid the head reads (14); masks are twice as large (28).
        sampling_ratio: RoIAlign's bilinear samples per bin and axis.
        num_convs, channels: the 3x3 convolutions (4 of 256).
        class_specific: one mask per class (the paper) or one shared mask.
    """

    output_size: int = 14
    sampling_ratio: int = 2
    num_convs: int = 4
    channels: int = 256
    class_specific: bool = True


@dataclasses.dataclass(frozen=True)
class KeypointHeadSettings:
    """Mask R-CNN's keypoint head.

    Attributes:
        output_size: RoIAlign grid the head reads (14); heatmaps are four times as large (56).
        sampling_ratio: RoIAlign's bilinear samples per bin and axis.
        num_convs, channels: the 3x3 convolutions (8 of 512).
    """

    output_size: int = 14
    sampling_ratio: int = 2
    num_convs: int = 8
    channels: int = 512


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """What only the training graph uses (Faster R-CNN's values, Detectron's FPN counts).

    Attributes:
        rpn_pre_nms_top_k, rpn_post_nms_top_k: proposals before and after
            NMS while training (more than at test time: the RoI sampler
            draws from them).
        rpn_num_samples, rpn_positive_fraction: anchors sampled per image.
        rpn_foreground_iou, rpn_background_iou: anchor matching thresholds.
        roi_num_samples, roi_positive_fraction: RoIs sampled per image.
        roi_foreground_iou, roi_background_iou: RoI labelling thresholds.
        instance_num_samples: positive RoIs per image that the mask and
            keypoint heads train on, drawn at random from the sampled
            positives (None: all of them, at most ``roi_num_samples x
            roi_positive_fraction``; Model Garden's ``num_sampled_masks``).
            The heads' convolutions run per RoI, so fewer make a step cheaper.
        seed: seed of the anchor and RoI samplers (None: random).
    """

    rpn_pre_nms_top_k: int = 2000
    rpn_post_nms_top_k: int = 1000
    rpn_num_samples: int = 256
    rpn_positive_fraction: float = 0.5
    rpn_foreground_iou: float = 0.7
    rpn_background_iou: float = 0.3
    roi_num_samples: int = 512
    roi_positive_fraction: float = 0.25
    roi_foreground_iou: float = 0.5
    roi_background_iou: float = 0.5
    instance_num_samples: int | None = None
    seed: int | None = None

    def __post_init__(self):
        if self.instance_num_samples is not None and self.instance_num_samples < 1:
            raise ValueError(f"instance_num_samples must be None or at least 1, got {self.instance_num_samples}")


def settings_from(value, cls):
    """``cls`` from None (the defaults), an instance, or a dict of fields (recipes and configs)."""
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if isinstance(value, dict):
        unknown = set(value) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields {sorted(unknown)}")
        return cls(**value)
    raise TypeError(f"expected {cls.__name__}, a dict or None, got {type(value).__name__}")
