"""Fast R-CNN: one pass of the backbone per image, RoI pooling of external proposals, a multi-task head."""

import keras

from kzoo.models.two_stage import graph
from kzoo.models.two_stage.roi_heads import box_head_layer, roi_pool_layer, two_stage_decoder
from kzoo.models.two_stage.settings import RoIHeadSettings, TrainingSettings, settings_from

FEATURE_LEVEL = "P4"  # stride 16, VGG16's conv5_3 in the paper
# The paper's head: RoI max pooling to 7 x 7; the rest as RoIHeadSettings' defaults.
FAST_RCNN_HEAD = {"pooling": "pool"}


def build_fast_rcnn(
    num_classes, backbone="tiny", input_shape=(128, 128, 3), weights=None, num_proposals=300, roi_heads=None
):
    """Fast R-CNN (Girshick 2015): classify and refine externally proposed regions on shared features.

    The whole image goes through the backbone once; each proposal (from
    selective search, computed on the host: ``kzoo.data.proposals``) is
    max-pooled from the stride-16 map to a 7 x 7 grid (RoI pooling), and a
    fully connected head gives softmax scores over C + 1 classes and a box
    refinement per class, trained together (multi-task loss) in one stage.

    Args:
        num_classes: object classes (no background).
        backbone: a name from ``kzoo.backbones.list_backbones()`` (its P4 is read).
        input_shape: (H, W, 3) of float RGB images in [0, 255].
        weights: backbone weights (None, ``"imagenet"`` or a file path).
        num_proposals: P, proposals per image the model takes (pad with
            all-zero boxes: they never give a detection).
        roi_heads: ``RoIHeadSettings`` or a dict of its fields; the
            paper's RoI max pooling unless ``pooling`` says otherwise.

    Returns:
        A functional ``keras.Model`` named ``"fast_rcnn"`` mapping
        ``{"images": [N, H, W, 3], "proposals": [N, P, 4]}`` to the detection
        dict.

    Reference:
        Girshick, "Fast R-CNN", ICCV 2015.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    if int(num_proposals) < 1:
        raise ValueError(f"num_proposals must be positive, got {num_proposals}")
    if roi_heads is None or isinstance(roi_heads, dict):
        roi_heads = {**FAST_RCNN_HEAD, **(roi_heads or {})}
    roi_heads = settings_from(roi_heads, RoIHeadSettings)
    parts = graph.TwoStageParts(
        backbone=graph.single_level_backbone(backbone, input_shape, weights, FEATURE_LEVEL),
        neck=None, rpn_head=None, anchors=None, proposals=None,
        roi_pool=roi_pool_layer("single", roi_heads, input_shape[:2]),
        box_head=box_head_layer(num_classes, roi_heads),
        decoder=two_stage_decoder(num_classes, roi_heads),
        feature_level=FEATURE_LEVEL,
    )
    inputs = {
        "images": keras.Input(input_shape, name="images"),
        "proposals": keras.Input((int(num_proposals), 4), name="proposals"),
    }
    return keras.Model(inputs, graph.inference_graph(parts, inputs["images"], inputs["proposals"]), name="fast_rcnn")


def fast_rcnn_training_model(model, settings=None):
    """The training graph of a Fast R-CNN ``model``: RoI sampling and the multi-task loss, shared weights.

    Args:
        model: from ``build_fast_rcnn`` or a reloaded checkpoint.
        settings: ``TrainingSettings`` (its ``roi_*`` fields) or a dict.

    Returns:
        A functional ``keras.Model`` mapping ``{"images", "proposals",
        "gt_boxes", "gt_classes"}`` to per-image ``roi_class`` and ``roi_box`` losses.
    """
    parts = graph.TwoStageParts.from_model(model)
    inputs = {
        "images": keras.Input(tuple(model.input["images"].shape[1:]), name="images"),
        "proposals": keras.Input(tuple(model.input["proposals"].shape[1:]), name="proposals"),
        "gt_boxes": keras.Input((None, 4), name="gt_boxes"),
        "gt_classes": keras.Input((None,), dtype="int32", name="gt_classes"),
    }
    losses = graph.training_graph(parts, inputs, settings_from(settings, TrainingSettings))
    return keras.Model(inputs, losses, name=f"{model.name}_training")
