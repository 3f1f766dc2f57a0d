"""Target encoding of the single-stage detectors, against NumPy references and the real pipeline."""

import numpy as np
import pytest

import kzoo.data
from kzoo.models.detection import retinanet, sliding_window, ssd, yolo
from kzoo.models.detection import targets as target_ops
from kzoo.models.registry import get_spec
from kzoo.ops import box_coding
from kzoo.training.pipeline import fit_dataset

IMAGE_SIZE = (128, 128)


def np_iou(a, b):
    """Pairwise IoU [len(a), len(b)] of [ymin, xmin, ymax, xmax] boxes, written out."""
    out = np.zeros((len(a), len(b)))
    for i, p in enumerate(a):
        for j, q in enumerate(b):
            h = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
            w = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
            union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - h * w
            out[i, j] = h * w / union if union > 0 else 0.0
    return out


def np_match_labels(anchors, boxes, classes, fg, bg, low_quality):
    """Matcher labels (class, -1 background, -2 ignore) by the written-out rule."""
    labels = np.full(len(anchors), -1)
    matched = np.full(len(anchors), -1)
    if len(boxes) == 0:
        return labels, matched
    iou = np_iou(anchors, boxes)
    best = iou.argmax(1)
    best_iou = iou.max(1)
    for a in range(len(anchors)):
        if best_iou[a] >= fg:
            labels[a], matched[a] = classes[best[a]], best[a]
        elif best_iou[a] >= bg:
            labels[a] = -2
    if low_quality:
        for g in range(len(boxes)):
            top = iou[:, g].max()
            if top > 0:
                for a in np.flatnonzero(iou[:, g] == top):
                    labels[a], matched[a] = classes[best[a]], best[a]
    return labels, matched


def element(boxes, classes, size=128, **extra):
    return {
        "image": np.zeros((size, size, 3), np.uint8),
        "boxes": np.asarray(boxes, np.float32).reshape(-1, 4),
        "classes": np.asarray(classes, np.int32),
        **extra,
    }


SCENE = element([[0.1, 0.1, 0.4, 0.3], [0.5, 0.55, 0.9, 0.95], [0.12, 0.6, 0.3, 0.7]], [0, 3, 1])


def test_anchor_targets_match_numpy_reference():
    anchors = retinanet.retinanet_anchors(IMAGE_SIZE).numpy()
    labels, box_targets = target_ops.anchor_targets(SCENE, anchors, 0.5, 0.4, True, (1.0, 1.0, 1.0, 1.0))
    want, matched = np_match_labels(anchors, SCENE["boxes"], SCENE["classes"], 0.5, 0.4, True)
    np.testing.assert_array_equal(labels.numpy(), want)
    positive = want >= 0
    np.testing.assert_array_equal(box_targets.numpy()[:, 4], positive.astype(np.float32))
    np.testing.assert_array_equal(box_targets.numpy()[~positive, :4], 0.0)
    # Deltas by the R-CNN formulas, written out.
    a, g = anchors[positive], SCENE["boxes"][matched[positive]]
    ha, wa = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    hg, wg = g[:, 2] - g[:, 0], g[:, 3] - g[:, 1]
    expected = np.stack(
        [
            ((g[:, 0] + g[:, 2]) - (a[:, 0] + a[:, 2])) / 2 / ha,
            ((g[:, 1] + g[:, 3]) - (a[:, 1] + a[:, 3])) / 2 / wa,
            np.log(hg / ha),
            np.log(wg / wa),
        ],
        -1,
    )
    np.testing.assert_allclose(box_targets.numpy()[positive, :4], expected, atol=1e-5)


def test_empty_and_degenerate_ground_truth():
    anchors = ssd.ssd_default_boxes(IMAGE_SIZE)
    empty = element(np.zeros((0, 4)), [])
    labels, box_targets = target_ops.anchor_targets(empty, anchors, 0.5, 0.5, True, ssd.BOX_WEIGHTS)
    assert np.all(labels.numpy() == -1)
    assert np.all(box_targets.numpy() == 0.0)
    # Zero-area, inverted, outside the image, NaN: all dropped; a box hanging out is clipped.
    bad = element(
        [
            [0.2, 0.2, 0.2, 0.5],
            [0.6, 0.6, 0.4, 0.4],
            [1.2, 1.2, 1.5, 1.5],
            [np.nan, 0.1, 0.5, 0.5],
            [-0.2, 0.5, 0.3, 1.4],
        ],
        [0, 1, 2, 3, 4],
    )
    boxes, classes, _ = target_ops.clean_groundtruth(bad)
    np.testing.assert_array_equal(classes.numpy(), [-1, -1, -1, -1, 4])
    np.testing.assert_allclose(boxes.numpy()[4], [0.0, 0.5, 0.3, 1.0])
    assert np.all(np.isfinite(boxes.numpy()))
    labels, box_targets = target_ops.anchor_targets(bad, anchors, 0.5, 0.5, True, ssd.BOX_WEIGHTS)
    assert set(np.unique(labels.numpy())) == {-1, 4}
    assert np.all(np.isfinite(box_targets.numpy()))


def test_crowd_boxes_are_ignored_not_positive():
    anchors = retinanet.retinanet_anchors(IMAGE_SIZE)
    crowd = element(SCENE["boxes"], SCENE["classes"], is_crowd=np.array([False, True, False]))
    labels, box_targets = target_ops.anchor_targets(crowd, anchors, 0.5, 0.4, True, retinanet.BOX_WEIGHTS)
    plain, _ = target_ops.anchor_targets(SCENE, anchors, 0.5, 0.4, True, retinanet.BOX_WEIGHTS)
    on_crowd = plain.numpy() == 3
    assert on_crowd.any()
    assert np.all(labels.numpy()[on_crowd] == -2)
    assert np.all(box_targets.numpy()[on_crowd] == 0.0)
    np.testing.assert_array_equal(labels.numpy()[~on_crowd], plain.numpy()[~on_crowd])


def test_yolo_cells_match_numpy_reference():
    s = 7
    # Two centres share cell (1, 1): the larger object wins it.
    scene = element(
        [[0.1, 0.1, 0.3, 0.3], [0.15, 0.15, 0.25, 0.25], [0.5, 0.6, 0.9, 0.8], [0.0, 0.0, 0.0, 0.1]], [2, 4, 1, 3]
    )
    _, cells = yolo.yolo_targets(scene, IMAGE_SIZE, s)
    expected = np.zeros((s, s, 6), np.float32)
    expected[..., 5] = -1
    for index in (0, 2):  # object 1 loses its cell; object 3 is degenerate
        box = scene["boxes"][index]
        row, col = int((box[0] + box[2]) / 2 * s), int((box[1] + box[3]) / 2 * s)
        expected[row, col] = [*box, 1.0, scene["classes"][index]]
    np.testing.assert_allclose(cells.numpy(), expected)
    _, empty = yolo.yolo_targets(element(np.zeros((0, 4)), []), IMAGE_SIZE, s)
    assert np.all(empty.numpy()[..., :5] == 0) and np.all(empty.numpy()[..., 5] == -1)


def test_sliding_windows_are_the_crops_the_classifier_sees():
    windows = sliding_window.sliding_windows(IMAGE_SIZE).numpy()
    sizes = sliding_window.scaled_sizes(IMAGE_SIZE)
    assert sizes == [(256, 256), (181, 181), (128, 128), (90, 90), (64, 64)]
    counts = [((h - 32) // 8 + 1) ** 2 for h, _ in sizes]
    assert len(windows) == sum(counts)
    # Window (row 2, column 3) of the 181-pixel scale: pixels [16, 48) x [24, 56).
    cols = (181 - 32) // 8 + 1
    np.testing.assert_allclose(windows[counts[0] + 2 * cols + 3], np.array([16, 24, 48, 56]) / 181.0, atol=1e-6)
    labels_image, labels = sliding_window.sliding_window_targets(SCENE, IMAGE_SIZE)
    iou = np_iou(windows, SCENE["boxes"])
    expected = np.where(iou.max(1) >= 0.5, SCENE["classes"][iou.argmax(1)] + 1, np.where(iou.max(1) < 0.3, 0, -1))
    np.testing.assert_array_equal(labels.numpy(), expected)
    assert labels_image.shape == IMAGE_SIZE + (3,)


def _decode_targets(name, targets, anchors):
    """Boxes and classes that a detector's targets encode, per positive anchor."""
    if name == "retinanet":
        labels, deltas = targets["class_logits"], targets["box_deltas"]
        positive = labels >= 0
        boxes = box_coding.decode_boxes(deltas[positive][:, :4], anchors[positive], retinanet.BOX_WEIGHTS)
        return boxes.numpy(), labels[positive]
    labels, deltas = targets["class_logits"], targets["box_deltas"]
    positive = labels > 0
    boxes = box_coding.decode_boxes(deltas[positive][:, :4], anchors[positive], ssd.BOX_WEIGHTS)
    return boxes.numpy(), labels[positive] - 1


@pytest.mark.parametrize("name", ["retinanet", "ssd"])
def test_targets_decode_back_to_groundtruth_through_the_pipeline(name):
    """Every positive anchor decodes to a ground-truth box of its class, and every box is reached."""
    spec = get_spec(name)
    dataset = "shapes/tiny"
    anchors = (retinanet.retinanet_anchors if name == "retinanet" else ssd.ssd_default_boxes)(IMAGE_SIZE).numpy()
    batch = next(iter(fit_dataset(spec, "train", 4, IMAGE_SIZE, dataset=dataset)))
    elements = list(kzoo.data.load(dataset, "train").take(4).as_numpy_iterator())
    images, targets = batch
    assert images.shape == (4,) + IMAGE_SIZE + (3,)
    for i, e in enumerate(elements):
        per_image = {key: value[i].numpy() for key, value in targets.items()}
        boxes, classes = _decode_targets(name, per_image, anchors)
        iou = np_iou(boxes, e["boxes"])
        nearest = iou.argmax(1)
        np.testing.assert_allclose(iou.max(1), 1.0, atol=1e-4)
        np.testing.assert_array_equal(classes, e["classes"][nearest])
        assert set(nearest) == set(range(len(e["boxes"])))


def test_yolo_targets_decode_back_through_the_pipeline():
    spec = get_spec("yolo")
    _, cells = next(iter(fit_dataset(spec, "train", 4, IMAGE_SIZE, dataset="shapes/tiny")))
    elements = list(kzoo.data.load("shapes/tiny", "train").take(4).as_numpy_iterator())
    for e, grid in zip(elements, cells.numpy()):
        occupied = grid[..., 4] == 1
        boxes = grid[occupied][:, :4]
        # Each cell's box is one of the image's boxes, of its class, centred in that cell.
        iou = np_iou(boxes, e["boxes"])
        np.testing.assert_allclose(iou.max(1), 1.0, atol=1e-6)
        np.testing.assert_array_equal(grid[occupied][:, 5], e["classes"][iou.argmax(1)])
        rows, cols = np.nonzero(occupied)
        np.testing.assert_array_equal(((boxes[:, 0] + boxes[:, 2]) / 2 * 7).astype(int), rows)
        np.testing.assert_array_equal(((boxes[:, 1] + boxes[:, 3]) / 2 * 7).astype(int), cols)
        centre_cells = {(int((b[0] + b[2]) / 2 * 7), int((b[1] + b[3]) / 2 * 7)) for b in e["boxes"]}
        assert occupied.sum() == len(centre_cells)
