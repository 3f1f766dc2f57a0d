"""The one skeleton of every two-stage detector: its parts, its inference graph, its training graph.

Read top to bottom, a two-stage detector is::

    features   = backbone(images)                 (+ FPN)
    proposals  = RPN(features)                    (or external: selective search)
    pooled     = RoIAlign(features, proposals)
    detections = decode(box_head(pooled), proposals)

Both graphs are built from the same ``TwoStageParts`` (the same layer
objects), so they share every weight: ``build_*`` returns the inference
graph, and ``training_graph`` wraps the same layers with the targets, the
samplers and the losses. ``TwoStageParts.from_model`` finds the parts of a
built or reloaded inference model by their layer names, so a checkpoint
trains again without its builder's arguments.
"""

import dataclasses

import keras
import tensorflow as tf

from kzoo.backbones import build_backbone
from kzoo.layers import MultiLevelRoIAlign, RegionProposals, RoIHeadLosses, RoISampler, RPNLosses

# Layer names shared by every two-stage model.
NECK, RPN_HEAD, ANCHORS, PROPOSALS = "fpn", "rpn_head", "anchors", "proposals"
ROI_POOL, BOX_HEAD, DECODER = "roi_pool", "box_head", "detections"
ROI_LOSS_NAMES = ("roi_class", "roi_box")
LOSS_NAMES = ("rpn_objectness", "rpn_box") + ROI_LOSS_NAMES


@dataclasses.dataclass(frozen=True)
class TwoStageParts:
    """The layer objects of one two-stage detector (None where a model has no such stage)."""

    backbone: keras.Model
    neck: keras.layers.Layer | None
    rpn_head: keras.layers.Layer | None
    anchors: keras.layers.Layer | None
    proposals: keras.layers.Layer | None
    roi_pool: keras.layers.Layer
    box_head: keras.layers.Layer
    decoder: keras.layers.Layer
    feature_level: str = "P4"  # the map RPN and RoI pooling read when there is no neck

    @classmethod
    def from_model(cls, model):
        """The parts of an inference model built by a two-stage builder (or reloaded from ``.keras``)."""
        names = {layer.name: layer for layer in model.layers}
        backbones = [layer for layer in model.layers if isinstance(layer, keras.Model)]
        if len(backbones) != 1 or ROI_POOL not in names or BOX_HEAD not in names:
            raise ValueError(f"model {model.name!r} is not a kzoo two-stage detector")
        # Without a neck the backbone was cut at the one level the heads read.
        level = sorted(backbones[0].output)[-1]
        return cls(
            backbone=backbones[0], neck=names.get(NECK), rpn_head=names.get(RPN_HEAD), anchors=names.get(ANCHORS),
            proposals=names.get(PROPOSALS), roi_pool=names[ROI_POOL], box_head=names[BOX_HEAD],
            decoder=names[DECODER], feature_level=level,
        )

    def features(self, images):
        """Feature maps by level: the FPN's levels, or the backbone's single ``feature_level``."""
        levels = self.backbone(images)
        if self.neck is not None:
            return self.neck(levels)
        return {self.feature_level: levels[self.feature_level]}

    def rpn(self, features, images):
        """``(objectness, deltas, anchors)`` over every level the RPN reads."""
        maps = [features[name] for name in sorted(features, key=lambda n: int(n[1:]))]
        objectness, deltas = self.rpn_head(maps)
        return objectness, deltas, self.anchors(images)

    def pool(self, features, boxes):
        """RoI features [N, R, k, k, C] of ``boxes``: on their FPN level, or on the single map."""
        if isinstance(self.roi_pool, MultiLevelRoIAlign):
            return self.roi_pool([features, boxes])
        return self.roi_pool([features[self.feature_level], boxes])


def single_level_backbone(name, input_shape, weights=None, level="P4"):
    """A backbone cut at one level (stride 16 for P4: VGG16's conv5, ResNet's C4).

    The stages above ``level`` are left out of the graph, so they cost
    nothing and hold no weights that would never train.
    """
    features = build_backbone(name, input_shape, weights=weights)
    return keras.Model(features.input, {level: features.output[level]}, name=features.name)


def inference_graph(parts, images, proposals=None):
    """Detections of ``images`` (with ``proposals`` [N, P, 4] for models without an RPN)."""
    features = parts.features(images)
    if proposals is None:
        objectness, deltas, anchors = parts.rpn(features, images)
        proposals, _ = parts.proposals([objectness, deltas, anchors])
    class_logits, box_deltas = parts.box_head(parts.pool(features, proposals))
    return parts.decoder([box_deltas, class_logits, proposals])


def training_graph(parts, inputs, settings):
    """Per-image losses of a training step, one forward pass of the backbone.

    Args:
        parts: ``TwoStageParts`` of the model.
        inputs: dict of symbolic ``images``, ``gt_boxes``, ``gt_classes``
            (and ``proposals`` for models without an RPN).
        settings: ``TrainingSettings``.

    Returns:
        dict of [N] losses: ``rpn_objectness``, ``rpn_box`` (models with an
        RPN), ``roi_class``, ``roi_box``.
    """
    images, gt_boxes, gt_classes = inputs["images"], inputs["gt_boxes"], inputs["gt_classes"]
    seed = settings.seed
    features = parts.features(images)
    losses = {}
    if parts.rpn_head is not None:
        objectness, deltas, anchors = parts.rpn(features, images)
        rpn_losses = RPNLosses(
            settings.rpn_num_samples, settings.rpn_positive_fraction, settings.rpn_foreground_iou,
            settings.rpn_background_iou, box_weights=parts.proposals.box_weights, seed=seed, name="rpn_losses",
        )([objectness, deltas, anchors, gt_boxes, gt_classes])
        losses["rpn_objectness"], losses["rpn_box"] = rpn_losses["objectness"], rpn_losses["box"]
        config = parts.proposals.get_config()
        config.update(
            name="training_proposals",
            pre_nms_top_k=settings.rpn_pre_nms_top_k,
            post_nms_top_k=settings.rpn_post_nms_top_k,
        )
        proposals, _ = RegionProposals.from_config(config)([objectness, deltas, anchors])
    else:
        proposals = inputs["proposals"]
    sample = RoISampler(
        settings.roi_num_samples, settings.roi_positive_fraction, settings.roi_foreground_iou,
        settings.roi_background_iou, box_weights=parts.decoder.box_weights,
        seed=None if seed is None else seed + 1, name="roi_sampler",
    )([proposals, gt_boxes, gt_classes])
    class_logits, box_deltas = parts.box_head(parts.pool(features, sample["rois"]))
    roi_losses = RoIHeadLosses(name="roi_losses")([class_logits, box_deltas, sample["labels"], sample["box_targets"]])
    losses["roi_class"], losses["roi_box"] = roi_losses["class"], roi_losses["box"]
    # Named outputs, so that fit reports each loss under its own name.
    return {name: keras.layers.Identity(name=name)(value) for name, value in losses.items()}


def groundtruth_inputs(element, image_size, max_boxes):
    """One element as the training graph's inputs: the resized image and padded ground truth.

    Boxes are clipped to the image; empty, non-finite and crowd boxes become
    padding (class -1), as do objects beyond ``max_boxes``.
    """
    from kzoo.models.detection.targets import clean_groundtruth, resize_image

    boxes, classes, crowd = clean_groundtruth(element)
    classes = tf.where(crowd, -1, classes)[:max_boxes]
    boxes = boxes[:max_boxes]
    pad = max_boxes - tf.shape(classes)[0]
    return {
        "images": resize_image(element, image_size),
        "gt_boxes": tf.ensure_shape(tf.pad(boxes, [[0, pad], [0, 0]]), [max_boxes, 4]),
        "gt_classes": tf.ensure_shape(tf.pad(classes, [[0, pad]], constant_values=-1), [max_boxes]),
    }


def zero_targets(names=LOSS_NAMES):
    """The ``y`` of a training-graph element: one placeholder per loss (the losses are the model's outputs)."""
    return {name: tf.zeros([]) for name in names}
