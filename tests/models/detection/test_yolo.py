import pytest

import kzoo


def test_the_head_can_read_the_stride_16_map():
    model = kzoo.build("yolo", num_classes=3, backbone="tiny", input_shape=(128, 128, 3), head_channels=8,
                       hidden_units=16, feature_level="P4")
    assert tuple(model.get_layer("head_conv").input.shape[1:3]) == (8, 8)
    with pytest.raises(ValueError, match="feature_level"):
        kzoo.build("yolo", num_classes=3, backbone="tiny", input_shape=(128, 128, 3), feature_level="P3")
