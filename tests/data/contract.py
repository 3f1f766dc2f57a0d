"""The dataset element contract of docs/design.md ("The dataset element"), checked with NumPy."""

import numpy as np


def reference_box(mask):
    """Tight pixel-aligned normalized box of a mask, by brute force."""
    height, width = mask.shape
    ys, xs = np.nonzero(mask)
    return np.array([ys.min() / height, xs.min() / width, (ys.max() + 1) / height, (xs.max() + 1) / width])


def joint_pixels(keypoints, height, width):
    """Row and column of the pixel holding each joint (computed in float64)."""
    rows = np.floor(keypoints[..., 0].astype(np.float64) * height).astype(int)
    cols = np.floor(keypoints[..., 1].astype(np.float64) * width).astype(int)
    return rows, cols


def check_element(element, num_classes, image_size=None, num_keypoints=0):
    """Assert that one element (dict of NumPy arrays) obeys the contract."""
    image = element["image"]
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    height, width = image.shape[:2]
    if image_size is not None:
        assert (height, width) == tuple(image_size)
    classes, boxes, masks = element["classes"], element["boxes"], element["masks"]
    count = classes.shape[0]
    assert classes.dtype == np.int32 and classes.shape == (count,)
    assert np.all((classes >= 0) & (classes < num_classes))
    assert boxes.dtype == np.float32 and boxes.shape == (count, 4)
    assert np.all((boxes >= 0) & (boxes <= 1))
    assert np.all(boxes[:, 0] < boxes[:, 2]) and np.all(boxes[:, 1] < boxes[:, 3])
    assert masks.dtype == np.uint8 and masks.shape == (count, height, width)
    assert set(np.unique(masks)) <= {0, 1}
    assert masks.sum(axis=0).max(initial=0) <= 1, "visible masks never overlap"
    for mask, box in zip(masks, boxes):
        assert mask.any()
        np.testing.assert_allclose(box, reference_box(mask), atol=1e-6)
    segmentation = element["segmentation"]
    assert segmentation.dtype == np.int32 and segmentation.shape == (height, width)
    expected = np.zeros((height, width), np.int32)
    for mask, class_id in zip(masks, classes):
        expected[mask == 1] = class_id + 1
    np.testing.assert_array_equal(segmentation, expected)
    assert element["image_id"].dtype == np.int64 and element["image_id"].shape == ()
    if num_keypoints:
        keypoints = element["keypoints"]
        assert keypoints.dtype == np.float32 and keypoints.shape == (count, num_keypoints, 3)
        assert np.all((keypoints[..., :2] >= 0) & (keypoints[..., :2] < 1))
        assert set(np.unique(keypoints[..., 2])) <= {0.0, 1.0}
        rows, cols = joint_pixels(keypoints, height, width)
        for i in range(count):
            # Visible exactly when the joint's pixel shows its own figure.
            shows_figure = masks[i, rows[i], cols[i]] == 1
            np.testing.assert_array_equal(keypoints[i, :, 2] == 1, shows_figure)
            seen = keypoints[i, keypoints[i, :, 2] == 1]
            ymin, xmin, ymax, xmax = boxes[i]
            assert np.all((seen[:, 0] >= ymin - 1e-6) & (seen[:, 0] <= ymax + 1e-6))
            assert np.all((seen[:, 1] >= xmin - 1e-6) & (seen[:, 1] <= xmax + 1e-6))


def scene_to_element(scene, image_id=0):
    """A generator's NumPy scene as the element ``kzoo.data.load`` would give."""
    count = len(scene["classes"])
    element = {
        "image": scene["image"],
        "boxes": scene["boxes"],
        "classes": scene["classes"].astype(np.int32),
        "masks": (scene["instances"][None] == np.arange(1, count + 1)[:, None, None]).astype(np.uint8),
        "segmentation": scene["segmentation"].astype(np.int32),
        "image_id": np.int64(image_id),
    }
    if "keypoints" in scene:
        element["keypoints"] = scene["keypoints"]
    return element
