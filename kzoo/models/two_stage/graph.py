"""The one skeleton of every two-stage detector: its parts, its inference graph, its training graph.

Read top to bottom, a two-stage detector is::

    features   = backbone(images)                 (+ FPN)
    proposals  = RPN(features)                    (or external: selective search)
    pooled     = RoIAlign(features, proposals)
    detections = decode(box_head(pooled), proposals)
    masks      = mask_head(RoIAlign(features, detections))       (Mask R-CNN)
    keypoints  = keypoint_head(RoIAlign(features, detections))   (keypoint R-CNN)

R-FCN has no RoI pooling of features: its box head pools its own
position-sensitive score maps (``PSRoIHead``, called on the map and the boxes).

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
from kzoo.models.two_stage import instance_heads

# Layer names shared by every two-stage model.
NECK, RPN_HEAD, ANCHORS, PROPOSALS = "fpn", "rpn_head", "anchors", "proposals"
ROI_POOL, BOX_HEAD, DECODER = "roi_pool", "box_head", "detections"
MASK_POOL, MASK_HEAD, MASK_DECODER = "mask_pool", "mask_head", "masks"
KEYPOINT_POOL, KEYPOINT_HEAD, KEYPOINT_DECODER = "keypoint_pool", "keypoint_head", "keypoints"
ROI_LOSS_NAMES = ("roi_class", "roi_box")
LOSS_NAMES = ("rpn_objectness", "rpn_box") + ROI_LOSS_NAMES


@dataclasses.dataclass(frozen=True)
class TwoStageParts:
    """The layer objects of one two-stage detector (None where a model has no such stage).

    ``roi_pool`` is None when the box head pools for itself (R-FCN's
    ``PSRoIHead`` takes the feature map and the boxes).
    """

    backbone: keras.Model
    neck: keras.layers.Layer | None
    rpn_head: keras.layers.Layer | None
    anchors: keras.layers.Layer | None
    proposals: keras.layers.Layer | None
    roi_pool: keras.layers.Layer
    box_head: keras.layers.Layer
    decoder: keras.layers.Layer
    feature_level: str = "P4"  # the map RPN and RoI pooling read when there is no neck
    mask_pool: keras.layers.Layer | None = None
    mask_head: keras.layers.Layer | None = None
    mask_decoder: keras.layers.Layer | None = None
    keypoint_pool: keras.layers.Layer | None = None
    keypoint_head: keras.layers.Layer | None = None
    keypoint_decoder: keras.layers.Layer | None = None

    @classmethod
    def from_model(cls, model):
        """The parts of an inference model built by a two-stage builder (or reloaded from ``.keras``)."""
        names = {layer.name: layer for layer in model.layers}
        backbones = [layer for layer in model.layers if isinstance(layer, keras.Model)]
        if len(backbones) != 1 or BOX_HEAD not in names:
            raise ValueError(f"model {model.name!r} is not a kzoo two-stage detector")
        # Without a neck the backbone was cut at the one level the heads read.
        level = sorted(backbones[0].output)[-1]
        return cls(
            backbone=backbones[0], neck=names.get(NECK), rpn_head=names.get(RPN_HEAD), anchors=names.get(ANCHORS),
            proposals=names.get(PROPOSALS), roi_pool=names.get(ROI_POOL), box_head=names[BOX_HEAD],
            decoder=names[DECODER], feature_level=level,
            mask_pool=names.get(MASK_POOL), mask_head=names.get(MASK_HEAD), mask_decoder=names.get(MASK_DECODER),
            keypoint_pool=names.get(KEYPOINT_POOL), keypoint_head=names.get(KEYPOINT_HEAD),
            keypoint_decoder=names.get(KEYPOINT_DECODER),
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

    def pool(self, features, boxes, pooler=None):
        """RoI features [N, R, k, k, C] of ``boxes`` by ``pooler`` (``roi_pool`` by default):
        on their FPN level, or on the single map."""
        pooler = self.roi_pool if pooler is None else pooler
        if isinstance(pooler, MultiLevelRoIAlign):
            return pooler([features, boxes])
        return pooler([features[self.feature_level], boxes])

    def box_outputs(self, features, boxes):
        """``(class_logits [N, R, C + 1], box_deltas [N, R, C or 1, 4])`` of the RoIs ``boxes``."""
        if self.roi_pool is None:
            return self.box_head([features[self.feature_level], boxes])
        return self.box_head(self.pool(features, boxes))


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
    class_logits, box_deltas = parts.box_outputs(features, proposals)
    detections = parts.decoder([box_deltas, class_logits, proposals])
    return instance_heads.instance_outputs(parts, features, detections)


def training_graph(parts, inputs, settings):
    """Per-image losses of a training step, one forward pass of the backbone.

    Args:
        parts: ``TwoStageParts`` of the model.
        inputs: dict of symbolic ``images``, ``gt_boxes``, ``gt_classes``
            (and ``proposals`` for models without an RPN, ``gt_masks``
            for a mask head, ``gt_keypoints`` for a keypoint head).
        settings: ``TrainingSettings``.

    Returns:
        dict of [N] losses: ``rpn_objectness``, ``rpn_box`` (models with an
        RPN), ``roi_class``, ``roi_box``, ``mask`` and ``keypoint`` (models
        with those heads).
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
    class_logits, box_deltas = parts.box_outputs(features, sample["rois"])
    roi_losses = RoIHeadLosses(name="roi_losses")([class_logits, box_deltas, sample["labels"], sample["box_targets"]])
    losses["roi_class"], losses["roi_box"] = roi_losses["class"], roi_losses["box"]
    # The sampler puts its positives first, in random order: the heads train on the first ones.
    max_positives = int(settings.roi_num_samples * settings.roi_positive_fraction)
    if settings.instance_num_samples is not None:
        max_positives = min(max_positives, settings.instance_num_samples)
    losses.update(instance_heads.instance_losses(parts, features, sample, inputs, max_positives))
    # Named outputs, so that fit reports each loss under its own name.
    return {name: keras.layers.Identity(name=name)(value) for name, value in losses.items()}


def groundtruth_inputs(element, image_size, max_boxes, masks=False, keypoints=False):
    """One element as the training graph's inputs: the resized image and padded ground truth.

    Boxes are clipped to the image; empty, non-finite and crowd boxes become
    padding (class -1), as do objects beyond ``max_boxes``. With ``masks``,
    ``gt_masks`` uint8 [max_boxes, H, W] are the element's instance masks at
    the model's size (nearest neighbour); with ``keypoints``,
    ``gt_keypoints`` [max_boxes, J, 3] its joints (padding invisible).
    """
    from kzoo.data.pipeline import pad_to_max_boxes
    from kzoo.models.detection.targets import clean_groundtruth, resize_image

    boxes, classes, crowd = clean_groundtruth(element)
    classes = tf.where(crowd, -1, classes)[:max_boxes]
    boxes = boxes[:max_boxes]
    pad = max_boxes - tf.shape(classes)[0]
    inputs = {
        "images": resize_image(element, image_size),
        "gt_boxes": tf.ensure_shape(tf.pad(boxes, [[0, pad], [0, 0]]), [max_boxes, 4]),
        "gt_classes": tf.ensure_shape(tf.pad(classes, [[0, pad]], constant_values=-1), [max_boxes]),
    }
    for key, wanted in (("masks", masks), ("keypoints", keypoints)):
        if wanted and key not in element:
            raise ValueError(f"this model trains on instance {key}: the dataset's elements have none")
    if masks:
        resized = tf.image.resize(tf.cast(element["masks"], tf.uint8)[..., None], tuple(image_size), "nearest")
        inputs["gt_masks"] = pad_to_max_boxes({"masks": resized[..., 0]}, max_boxes)["masks"]
    if keypoints:
        inputs["gt_keypoints"] = pad_to_max_boxes({"keypoints": tf.cast(element["keypoints"], tf.float32)}, max_boxes)[
            "keypoints"
        ]
    return inputs


def zero_targets(names=LOSS_NAMES):
    """The ``y`` of a training-graph element: one placeholder per loss (the losses are the model's outputs)."""
    return {name: tf.zeros([]) for name in names}
