"""The backbone shared by the networks whose dense layers read one fixed-size level."""

import pytest

from kzoo.models.fixed_input_backbone import build_fixed_input_backbone
from kzoo.models.localization import build_classify_localize
from kzoo.models.pose import build_deeppose


def test_returns_the_backbone_with_the_level_at_its_stride():
    features = build_fixed_input_backbone("tiny", (64, 32, 3), "P4")
    assert tuple(features.output["P4"].shape[1:3]) == (4, 2)


@pytest.mark.parametrize("builder", [build_fixed_input_backbone, build_classify_localize, build_deeppose])
def test_refuses_a_free_size_or_a_missing_level(builder):
    def build(input_shape, level):
        if builder is build_fixed_input_backbone:
            return builder("tiny", input_shape, level)
        return builder(3, backbone="tiny", input_shape=input_shape, feature_level=level)

    with pytest.raises(ValueError, match="fixed height and width"):
        build((None, None, 3), "P5")
    with pytest.raises(ValueError, match=r"has levels \['P2', 'P3', 'P4', 'P5'\], not 'P6'"):
        build((64, 64, 3), "P6")
