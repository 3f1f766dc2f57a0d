"""The grid of a speed/accuracy study: meta-architecture x backbone x image size (x proposals).

Each meta-architecture has one CPU-scale configuration (narrow heads, the
papers' layouts), the same whatever the backbone and size, so that a cell
differs from its neighbours only in the variable the study moves. The
proposal count of region-based models is a test-time setting: cells that
differ only in it share one trained model (its weights do not depend on it).
"""

import dataclasses

from kzoo.backbones import list_backbones
from kzoo.models.registry import build

# name -> (registered model, builder arguments besides backbone, size and classes, training graph settings).
ARCHITECTURES = {
    "ssd": ("ssd", dict(extra_channels=128), None),
    "retinanet": ("retinanet", dict(num_channels=64, num_convs=2), None),
    "yolo": ("yolo", dict(head_channels=128, feature_level="P4", head="convolutional"), None),
    "faster_rcnn": (
        "faster_rcnn",
        dict(variant="fpn", fpn_channels=64, rpn={"num_channels": 64}, roi_heads={"representation_size": 256}),
        dict(rpn_post_nms_top_k=300, roi_num_samples=64),
    ),
    "faster_rcnn_c4": (
        "faster_rcnn",
        dict(variant="c4", rpn={"num_channels": 64}, roi_heads={"representation_size": 256}),
        dict(rpn_post_nms_top_k=300, roi_num_samples=64),
    ),
    "rfcn": ("rfcn", dict(channels=256, rpn={"num_channels": 64}), dict(rpn_post_nms_top_k=300, roi_num_samples=64)),
}
# Training-time augmentation (``fit_dataset`` arguments): the paper's scale, translation, exposure and
# saturation jitter, for YOLO.
AUGMENTATION = {"yolo": dict(flip=True, zoom_in=0.7, color_jitter=1.5)}
REGION_BASED = ("faster_rcnn", "faster_rcnn_c4", "rfcn")
DEFAULT_MODELS = ("ssd", "retinanet", "faster_rcnn", "faster_rcnn_c4", "rfcn", "yolo")
DEFAULT_BACKBONES = ("tiny", "mobilenet_v2", "resnet50")
DEFAULT_SIZES = (128, 256)
DEFAULT_PROPOSALS = (50, 300)


@dataclasses.dataclass(frozen=True)
class Cell:
    """One configuration of the grid; ``proposals`` is None for single-stage models."""

    model: str
    backbone: str
    image_size: int
    proposals: int | None = None

    @property
    def key(self):
        """A stable name: ``model/backbone/size[/pP]``."""
        tail = "" if self.proposals is None else f"/p{self.proposals}"
        return f"{self.model}/{self.backbone}/{self.image_size}{tail}"

    @property
    def trained_key(self):
        """The key of the trained model the cell uses (cells differing only in proposals share one)."""
        return f"{self.model}/{self.backbone}/{self.image_size}"


def expand_grid(models=DEFAULT_MODELS, backbones=DEFAULT_BACKBONES, sizes=DEFAULT_SIZES, proposals=DEFAULT_PROPOSALS):
    """Every cell of the grid, in order; proposal counts apply to the region-based models only."""
    unknown = [m for m in models if m not in ARCHITECTURES]
    if unknown:
        raise ValueError(f"unknown meta-architectures {unknown}; choose from {sorted(ARCHITECTURES)}")
    known = list_backbones()
    unknown = [b for b in backbones if b not in known]
    if unknown:
        raise ValueError(f"unknown backbones {unknown}; choose from {known}")
    bad = [s for s in sizes if int(s) < 32 or int(s) % 32]
    if bad:
        raise ValueError(f"image sizes must be multiples of 32 from 32 up, got {bad}")
    bad = [p for p in proposals if int(p) < 1]
    if bad:
        raise ValueError(f"proposal counts must be positive, got {bad}")
    cells = []
    for model in models:
        for backbone in backbones:
            for size in sizes:
                counts = proposals if model in REGION_BASED else (None,)
                cells.extend(Cell(model, backbone, int(size), None if p is None else int(p)) for p in counts)
    return cells


def build_cell(cell, num_classes, weights=None):
    """The inference model of ``cell`` (random weights, or ``weights`` from a model of its ``trained_key``)."""
    registered, kwargs, _ = ARCHITECTURES[cell.model]
    kwargs = dict(kwargs)
    if cell.proposals is not None:
        kwargs["rpn"] = {**kwargs["rpn"], "post_nms_top_k": cell.proposals,
                         "pre_nms_top_k": max(1000, cell.proposals)}
    model = build(
        registered, num_classes=num_classes, backbone=cell.backbone,
        input_shape=(cell.image_size, cell.image_size, 3), **kwargs,
    )
    if weights is not None:
        model.set_weights(weights)
    return model


def training_settings(cell):
    """The training graph settings of ``cell``'s meta-architecture (None for single-stage models)."""
    return ARCHITECTURES[cell.model][2]
