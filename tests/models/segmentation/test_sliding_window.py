"""The naive sliding window and its fully convolutional form compute the same labels."""

import numpy as np
import pytest

from kzoo.models.segmentation import (
    build_patch_classifier,
    build_sliding_window_segmenter,
    copy_sliding_window_weights,
    naive_sliding_window,
)
from kzoo.models.segmentation.sliding_window import PATCH_NETS


def _randomize(model, seed):
    """Non-trivial batch-norm statistics (a real affine map at inference) and spread-out logits."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.name.startswith("bn"):
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in layer.get_weights()])
    kernel, bias = model.get_layer("fc2").get_weights()
    model.get_layer("fc2").set_weights([kernel * 20.0, bias])


@pytest.mark.parametrize("backbone", ["tiny", "small"])
def test_naive_and_fully_convolutional_give_the_same_labels(backbone):
    segmenter = build_sliding_window_segmenter(3, backbone, input_shape=(None, None, 3))
    _randomize(segmenter, seed=1)
    classifier = copy_sliding_window_weights(segmenter, build_patch_classifier(3, backbone))
    images = np.random.default_rng(2).uniform(0, 255, (2, 19, 26, 3)).astype("float32")
    dense = segmenter(images, training=False).numpy()
    naive = naive_sliding_window(classifier, images, batch_size=128)
    assert dense.shape == naive.shape == (2, 19, 26, 4)
    np.testing.assert_allclose(dense, naive, atol=1e-4)
    np.testing.assert_array_equal(dense.argmax(-1), naive.argmax(-1))
    # The logits vary across pixels far beyond the tolerance, so the agreement is not trivial.
    assert dense.std(axis=(1, 2)).min() > 100 * 1e-4


def test_each_pixel_is_labelled_from_the_patch_it_is_the_centre_of():
    segmenter = build_sliding_window_segmenter(2, "tiny", input_shape=(16, 20, 3))
    _randomize(segmenter, seed=3)
    classifier = copy_sliding_window_weights(segmenter, build_patch_classifier(2, "tiny"))
    size = PATCH_NETS["tiny"].patch_size
    assert classifier.input_shape[1:] == (size, size, 3) == (12, 12, 3)
    image = np.random.default_rng(4).uniform(0, 255, (16, 20, 3)).astype("float32")
    padded = np.pad(image, ((6, 5), (6, 5), (0, 0)))  # P // 2 before, P - 1 - P // 2 after
    dense = segmenter(image[None], training=False).numpy()[0]
    for y, x in [(0, 0), (7, 11), (15, 19), (3, 18)]:
        patch = padded[y : y + size, x : x + size]
        np.testing.assert_allclose(classifier(patch[None], training=False).numpy()[0], dense[y, x], atol=1e-5)


def test_weights_copy_both_ways_and_keep_the_same_numbers():
    first = build_sliding_window_segmenter(4, "tiny", input_shape=(10, 10, 3))
    classifier = copy_sliding_window_weights(first, build_patch_classifier(4, "tiny"))
    dense = first.get_layer("fc1").get_weights()[0]
    fully_connected = classifier.get_layer("fc1").get_weights()[0]
    assert dense.shape == (2, 2, 16, 16) and fully_connected.shape == (2 * 2 * 16, 16)
    # A Flatten of a [k, k, C] map is row-major, the same order as the kernel's first three axes.
    np.testing.assert_array_equal(dense.reshape(-1, 16), fully_connected)
    second = copy_sliding_window_weights(classifier, build_sliding_window_segmenter(4, "tiny", input_shape=(10, 10, 3)))
    images = np.random.default_rng(5).uniform(0, 255, (1, 10, 10, 3)).astype("float32")
    np.testing.assert_array_equal(first(images).numpy(), second(images).numpy())


def test_output_has_the_input_size_at_any_size():
    segmenter = build_sliding_window_segmenter(5, "tiny", input_shape=(None, None, 3))
    for size in [(1, 1), (7, 31), (32, 32)]:
        assert segmenter(np.zeros((1, *size, 3), "float32")).shape == (1, *size, 6)


def test_rejects_a_pyramid_backbone():
    with pytest.raises(ValueError, match="own convolutions"):
        build_sliding_window_segmenter(5, "vgg16")
