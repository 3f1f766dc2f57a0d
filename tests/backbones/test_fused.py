"""Application backbones train with kzoo's fused batch norm and compute what Keras's net computes."""

import keras
import numpy as np

from kzoo.backbones import build_backbone
from kzoo.backbones.fused import fuse_batch_norms
from kzoo.layers import FusedBatchNormalization


def _batch_norms(model):
    found = []
    for layer in model.layers:
        found += _batch_norms(layer) if isinstance(layer, keras.Model) else (
            [layer] if isinstance(layer, keras.layers.BatchNormalization) else [])
    return found


def test_fusing_keeps_names_weights_and_outputs():
    net = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(64, 64, 3), alpha=0.35)
    rng = np.random.default_rng(0)
    net.set_weights([w + rng.uniform(0.0, 0.1, w.shape).astype(w.dtype) for w in net.get_weights()])
    fused = fuse_batch_norms(net)
    assert [layer.name for layer in fused.layers] == [layer.name for layer in net.layers]
    assert {type(layer) for layer in _batch_norms(fused)} == {FusedBatchNormalization}
    x = rng.uniform(-1, 1, (2, 64, 64, 3)).astype(np.float32)
    np.testing.assert_array_equal(fused(x), net(x))
    np.testing.assert_allclose(fused(x, training=True), net(x, training=True), atol=1e-4)


def test_every_backbone_builds_with_fused_batch_norm_only():
    for name in ("tiny", "alexnet", "resnet50"):
        norms = _batch_norms(build_backbone(name, (64, 64, 3)))
        assert norms and {type(layer) for layer in norms} == {FusedBatchNormalization}, name


def test_a_net_without_batch_norm_is_returned_as_is():
    net = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    assert fuse_batch_norms(net) is net
