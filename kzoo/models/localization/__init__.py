"""Classification + localization: one network, class scores and one box."""

from kzoo.models.localization.classify_localize import (
    BOX_LOSSES,
    BoxIoU,
    build_classify_localize,
    classify_localize_targets,
    compile_classify_localize,
    decode_classify_localize,
)
