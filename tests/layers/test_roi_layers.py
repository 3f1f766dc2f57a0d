"""RoI layers: standard layer checks (TFLite builtins included) and agreement with their ops."""

import os
import tempfile

import keras
import numpy as np
import pytest

from kzoo.layers import MultiLevelRoIAlign, PSRoIAlign, RoIAlign, RoIPooling
from kzoo.ops import roi_pooling, roi_sampling
from tests.helpers import check_layer


def _features(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _boxes(n, r, seed=1, low=-0.1, high=1.1):
    rng = np.random.default_rng(seed)
    corner = rng.uniform(low, high - 0.05, size=(n, r, 2))
    size = rng.uniform(0.0, 1.0, size=(n, r, 2)) * (high - corner)
    return np.concatenate([corner, corner + size], axis=-1).astype(np.float32)


def test_roi_align_layer():
    f, boxes = _features((2, 12, 10, 4)), _boxes(2, 5)
    (out,) = check_layer(
        RoIAlign, {"output_size": (3, 2), "sampling_ratio": 2}, [f, boxes], expected_output_shapes=[(2, 5, 3, 2, 4)]
    )
    np.testing.assert_allclose(out, roi_sampling.roi_align(f, boxes, (3, 2), 2).numpy(), atol=1e-6)


def test_roi_align_unaligned_layer():
    f, boxes = _features((1, 8, 8, 3)), _boxes(1, 4)
    (out,) = check_layer(RoIAlign, {"output_size": 2, "sampling_ratio": 1, "aligned": False}, [f, boxes])
    np.testing.assert_allclose(out, roi_sampling.roi_align(f, boxes, 2, 1, aligned=False).numpy(), atol=1e-6)


def test_roi_pooling_layer():
    f, boxes = _features((2, 14, 14, 3)), _boxes(2, 6)
    (out,) = check_layer(RoIPooling, {"output_size": 3}, [f, boxes], expected_output_shapes=[(2, 6, 3, 3, 3)])
    np.testing.assert_array_equal(out, roi_pooling.roi_pool(f, boxes, 3).numpy())


@pytest.mark.parametrize("vote", [False, True])
def test_ps_roi_align_layer(vote):
    f, boxes = _features((2, 9, 9, 3 * 3 * 5)), _boxes(2, 4)
    shape = (2, 4, 5) if vote else (2, 4, 3, 3, 5)
    (out,) = check_layer(PSRoIAlign, {"output_size": 3, "vote": vote}, [f, boxes], expected_output_shapes=[shape])
    pooled = roi_sampling.ps_roi_align(f, boxes, 3, 2).numpy()
    np.testing.assert_allclose(out, pooled.mean(axis=(2, 3)) if vote else pooled, atol=1e-6)


def _pyramid(size=64, levels=range(2, 6), channels=4):
    return {f"P{k}": _features((2, size // 2**k, size // 2**k, channels), seed=k) for k in levels}


def test_multi_level_roi_align_layer_flat_inputs():
    pyramid, boxes = _pyramid(), _boxes(2, 8, low=0.0, high=1.0)
    levels = [pyramid[f"P{k}"] for k in range(2, 6)]
    (out,) = check_layer(
        MultiLevelRoIAlign,
        {"output_size": 2, "canonical_size": 32},
        levels + [boxes],
        expected_output_shapes=[(2, 8, 2, 2, 4)],
    )
    # Level by FPN's rule on the 64-pixel image, then plain RoIAlign on that level.
    assigned = roi_sampling.fpn_level(boxes, (64, 64), 2, 5, canonical_size=32).numpy()
    assert len(set(assigned.ravel())) > 1, "boxes should spread over several levels"
    for b in range(2):
        for r in range(8):
            single = roi_sampling.roi_align(pyramid[f"P{assigned[b, r]}"][b : b + 1], boxes[b : b + 1, r : r + 1], 2)
            np.testing.assert_allclose(out[b, r], single.numpy()[0, 0], atol=1e-5)


def test_multi_level_roi_align_dict_in_model_round_trip():
    pyramid, boxes = _pyramid(levels=range(2, 7)), _boxes(2, 5, low=0.0, high=1.0)
    inputs = {k: keras.Input(v.shape[1:], name=k) for k, v in pyramid.items()}
    box_input = keras.Input((5, 4), name="boxes")
    # P6 is present (as an RPN pyramid has it) and ignored with max_level=5.
    out = MultiLevelRoIAlign(3)([inputs, box_input])
    model = keras.Model([inputs, box_input], out)
    feed = [pyramid, boxes]
    before = np.asarray(model(feed))
    assert before.shape == (2, 5, 3, 3, 4)
    listed = np.asarray(MultiLevelRoIAlign(3)([[pyramid[f"P{k}"] for k in range(2, 6)], boxes]))
    np.testing.assert_allclose(before, listed, atol=1e-6)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "pyramid.keras")
        model.save(path)
        reloaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(np.asarray(reloaded(feed)), before, atol=1e-6)


def test_multi_level_image_size_argument():
    pyramid, boxes = _pyramid(), _boxes(1, 6, low=0.0, high=1.0)
    pyramid = {k: v[:1] for k, v in pyramid.items()}
    # Saying the image is 256 px (not the 64 px the pyramid implies) makes every
    # box 4x larger in pixels, so boxes move to coarser levels.
    out = np.asarray(MultiLevelRoIAlign(2, canonical_size=32, image_size=(256, 256))([pyramid, boxes]))
    inferred = roi_sampling.fpn_level(boxes, (64, 64), 2, 5, canonical_size=32).numpy()
    assigned = roi_sampling.fpn_level(boxes, (256, 256), 2, 5, canonical_size=32).numpy()
    assert (assigned >= inferred).all() and (assigned > inferred).any()
    for r in range(6):
        single = roi_sampling.roi_align(pyramid[f"P{assigned[0, r]}"], boxes[:, r : r + 1], 2)
        np.testing.assert_allclose(out[0, r], single.numpy()[0, 0], atol=1e-5)


def test_multi_level_rejects_wrong_level_count():
    layer = MultiLevelRoIAlign(2)
    with pytest.raises(ValueError):
        layer([_features((1, 8, 8, 2)), _features((1, 4, 4, 2)), _boxes(1, 2)])


def test_single_level_shapes_and_mixed_precision():
    f, boxes = _features((1, 16, 16, 4)), _boxes(1, 3, low=0.0, high=1.0)
    layer = MultiLevelRoIAlign(2, min_level=3, max_level=3)
    assert layer.compute_output_shape([(None, 16, 16, 4), (None, 3, 4)]) == (None, 3, 2, 2, 4)
    np.testing.assert_allclose(
        np.asarray(layer([f, boxes])), roi_sampling.roi_align(f, boxes, 2).numpy(), atol=1e-6
    )
    # Under mixed precision the map is float16 but box coordinates are not rounded
    # to float16 (a 0.1% error is a quarter cell on a 256-cell map).
    f, boxes = _features((1, 256, 256, 2)), _boxes(1, 8, low=0.0, high=1.0)
    cases = ((RoIAlign, {"sampling_ratio": 1}), (RoIPooling, {}), (MultiLevelRoIAlign, {"min_level": 0, "max_level": 0}))
    for layer_cls, kwargs in cases:
        layer = layer_cls(2, dtype="mixed_float16", **kwargs)
        half = np.asarray(layer([f, boxes]))
        assert half.dtype == np.float16
        full = np.asarray(layer_cls(2, **kwargs)([f.astype(np.float16).astype(np.float32), boxes]))
        np.testing.assert_allclose(half, full, atol=1e-2)
