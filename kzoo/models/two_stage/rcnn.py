"""R-CNN: selective search proposals, each warped and run through a CNN, scored by linear SVMs."""

import dataclasses

import keras

from kzoo.backbones import build_backbone
from kzoo.layers import DetectionDecoder, RCNNHead, RCNNPostHocLosses, RoIHeadLosses, RoISampler, WarpedRegions
from kzoo.models.two_stage import graph
from kzoo.models.two_stage.settings import settings_from

WARP, CNN, HEAD = "warp", "region_cnn", "rcnn_head"
BOX_WEIGHTS = (10.0, 10.0, 5.0, 5.0)
STAGES = ("finetune", "svm")


@dataclasses.dataclass(frozen=True)
class RCNNTrainingSettings:
    """R-CNN's two training stages, one ``fit`` each.

    Attributes:
        stage: ``"finetune"``: the CNN and its softmax classifier over C + 1
            classes, on regions with IoU >= 0.5 as positives (a quarter of
            each sample); ``"svm"``: with the CNN frozen, the linear SVMs
            (hinge loss, hard negatives) and the box regressors (least
            squares) on regions with IoU >= 0.6 (boxes) or < 0.3 (background).
            The training graph reports ``roi_class`` (softmax cross-entropy,
            then SVM hinge) and ``roi_box`` (0 while fine-tuning, then least
            squares).
        num_samples: regions per image in a step.
        positive_fraction: largest share of positives in a sample.
        hard_negative_ratio: SVM negatives kept per positive.
        seed: the sampler's seed.
    """

    stage: str = "finetune"
    num_samples: int = 32
    positive_fraction: float = 0.25
    hard_negative_ratio: float = 3.0
    seed: int | None = None


def build_rcnn(
    num_classes,
    backbone="tiny",
    input_shape=(128, 128, 3),
    weights=None,
    num_proposals=300,
    crop_size=64,
    representation_size=256,
    score_threshold=0.05,
    iou_threshold=0.3,
    max_detections=100,
):
    """R-CNN (Girshick et al. 2014): a CNN run on every warped region proposal, SVMs to score them.

    Each external proposal (selective search, ``kzoo.data.selective_search``)
    is enlarged by 16/227 of context on every side, warped to a
    ``crop_size`` square (``WarpedRegions``) and run through the CNN on its
    own: P proposals cost P forward passes, which is what Fast R-CNN then
    removes. From the CNN's features come a softmax classifier (used to
    fine-tune the CNN), class-specific linear SVMs whose sigmoid-squashed
    scores rank the detections, and class-specific box regressors; per-class
    NMS at ``iou_threshold`` (0.3 in the paper) gives the detections.

    Args:
        num_classes: object classes (no background).
        backbone: a name from ``kzoo.backbones.list_backbones()``; its
            coarsest map, averaged over space, is the region feature.
        input_shape: (H, W, 3) of float RGB images in [0, 255].
        weights: backbone weights (None, ``"imagenet"`` or a file path).
        num_proposals: P, proposals per image (pad with zero boxes).
        crop_size: side of the warped regions (227 in the paper).
        representation_size: width of the fully connected feature.
        score_threshold, iou_threshold, max_detections: decoding.

    Returns:
        A functional ``keras.Model`` named ``"rcnn"`` mapping ``{"images",
        "proposals"}`` to the detection dict.

    Reference:
        Girshick, Donahue, Darrell and Malik, "Rich feature hierarchies for
        accurate object detection and semantic segmentation", CVPR 2014.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    if int(num_proposals) < 1 or int(crop_size) < 8:
        raise ValueError(f"need num_proposals >= 1 and crop_size >= 8, got {num_proposals} and {crop_size}")
    features = build_backbone(backbone, (int(crop_size), int(crop_size), 3), weights=weights)
    coarsest = max(features.output, key=lambda name: int(name[1:]))
    cnn = keras.Model(features.input, features.output[coarsest], name=CNN)
    warp = WarpedRegions(int(crop_size), name=WARP)
    head = RCNNHead(num_classes, representation_size, name=HEAD)
    decoder = DetectionDecoder(
        num_classes, iou_threshold, score_threshold, max_detections, activation="sigmoid", box_weights=BOX_WEIGHTS,
        skip_empty_anchors=True, name=graph.DECODER,
    )
    inputs = {
        "images": keras.Input(input_shape, name="images"),
        "proposals": keras.Input((int(num_proposals), 4), name="proposals"),
    }
    _, svm_scores, box_deltas = head([cnn(warp([inputs["images"], inputs["proposals"]])), inputs["proposals"]])
    return keras.Model(inputs, decoder([box_deltas, svm_scores, inputs["proposals"]]), name="rcnn")


def rcnn_training_model(model, settings=None):
    """The training graph of one R-CNN stage (``RCNNTrainingSettings.stage``), sharing the model's layers.

    Returns:
        A functional ``keras.Model`` mapping ``{"images", "proposals",
        "gt_boxes", "gt_classes"}`` to per-image ``roi_class`` and ``roi_box`` losses.
    """
    settings = settings_from(settings, RCNNTrainingSettings)
    if settings.stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, got {settings.stage!r}")
    warp, cnn, head = model.get_layer(WARP), model.get_layer(CNN), model.get_layer(HEAD)
    inputs = {
        "images": keras.Input(tuple(model.input["images"].shape[1:]), name="images"),
        "proposals": keras.Input(tuple(model.input["proposals"].shape[1:]), name="proposals"),
        "gt_boxes": keras.Input((None, 4), name="gt_boxes"),
        "gt_classes": keras.Input((None,), dtype="int32", name="gt_classes"),
    }
    finetune = settings.stage == "finetune"
    # Each stage trains its own layers: fine-tuning the CNN, fc7 and softmax; then, on their frozen
    # features, the SVMs and box regressors.
    for layer, trains_in_finetune in ((cnn, True), (head.fc, True), (head.classifier, True),
                                      (head.svm, False), (head.regressor, False)):
        layer.trainable = trains_in_finetune == finetune
    # Fine-tuning: IoU >= 0.5 positives (the rest background); SVMs and boxes: >= 0.6 boxes, < 0.3 background.
    sample = RoISampler(
        settings.num_samples, settings.positive_fraction, 0.5 if finetune else 0.6, 0.5 if finetune else 0.3,
        box_weights=BOX_WEIGHTS, seed=settings.seed, name="roi_sampler",
    )([inputs["proposals"], inputs["gt_boxes"], inputs["gt_classes"]])
    crops = warp([inputs["images"], sample["rois"]])
    if finetune:
        logits, _, deltas = head([cnn(crops), sample["rois"]])
        losses = RoIHeadLosses(name="roi_losses")([logits, deltas, sample["labels"], sample["box_targets"]])
        # Box regression is post hoc, trained in the "svm" stage: nothing to learn for it here.
        losses = {"class": losses["class"], "box": keras.ops.zeros_like(losses["box"])}
    else:
        # The CNN is frozen: features in inference mode (batch norm statistics kept).
        features = cnn(crops, training=False)
        _, svm_scores, deltas = head([features, sample["rois"]])
        losses = RCNNPostHocLosses(hard_negative_ratio=settings.hard_negative_ratio, name="posthoc_losses")(
            [svm_scores, deltas, sample["labels"], sample["box_targets"], sample["rois"], sample["matches"],
             inputs["gt_boxes"]]
        )
        losses = {"class": losses["svm"], "box": losses["box"]}
    outputs = {name: keras.layers.Identity(name=name)(losses[key]) for name, key in zip(graph.ROI_LOSS_NAMES, ("class", "box"))}
    return keras.Model(inputs, outputs, name=f"{model.name}_training")
