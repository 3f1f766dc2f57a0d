import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from kzoo.viz import draw  # noqa: E402


def test_captions_on_one_box_stack_by_score_and_do_not_overlap():
    figure, ax = plt.subplots()
    ax.set_xlim(0, 100)
    ax.set_ylim(100, 0)  # as imshow sets them for a 100 x 100 image
    box = [0.1, 0.1, 0.5, 0.5]
    other = [0.6, 0.6, 0.9, 0.9]
    draw.draw_boxes(ax, np.array([box, box, box, box, other]), np.array([0, 1, 2, -1, 0]), 100, 100,
                    ["circle", "square", "triangle"], scores=np.array([0.4, 0.9, 0.6, 0.95, 0.3]))
    figure.canvas.draw()
    captions = {text.get_text(): text for text in ax.texts}
    # The padded row (class -1) is not drawn.
    assert sorted(captions) == ["circle 0.30", "circle 0.40", "square 0.90", "triangle 0.60"]
    # On the shared box: the most likely caption sits on the box's edge and reads first (topmost), the others
    # follow below it in order of score.
    offsets = {name: captions[name].xyann[1] for name in ("square 0.90", "triangle 0.60", "circle 0.40")}
    assert offsets["square 0.90"] == 0 > offsets["triangle 0.60"] > offsets["circle 0.40"]
    assert captions["circle 0.30"].xyann[1] == 0  # a box of its own starts its own stack
    renderer = figure.canvas.get_renderer()
    extents = [captions[name].get_bbox_patch().get_window_extent(renderer) for name in offsets]
    plt.close(figure)
    for i, first in enumerate(extents):
        for second in extents[i + 1:]:
            assert not first.overlaps(second), (first, second)


def test_a_keypoint_prediction_draws_each_persons_skeleton_and_a_mask_prediction_its_masks():
    from kzoo.viz.pictures import show_prediction

    image = np.zeros((64, 64, 3), np.uint8)
    skeleton = [(0, 1), (1, 2)]
    prediction = {
        "detection_boxes": np.array([[0.1, 0.1, 0.6, 0.6], [0.5, 0.5, 0.9, 0.9], [0, 0, 0, 0]]),
        "detection_scores": np.array([0.9, 0.8, 0.0]),
        "detection_classes": np.array([0, 0, 0]),
        "num_detections": 2,
        "detection_keypoints": np.tile([[0.2, 0.2], [0.3, 0.3], [0.4, 0.4]], (3, 1, 1)),
        "detection_keypoint_scores": np.array([[0.9, 0.9, 0.9], [0.9, 0.9, 0.0], [0, 0, 0]]),
        "detection_masks": np.ones((3, 28, 28), np.float32),
    }
    figure, ax = plt.subplots()
    show_prediction(ax, image, prediction, ["person"], skeleton, score_threshold=0.3)
    # Two people: both edges of the first, and the first edge only of the second (its third joint scores 0).
    assert len(ax.lines) == 3
    assert len(ax.images) == 2  # the image and the tint of the pasted masks
    assert ax.get_title() == "prediction, score >= 0.3"
    plt.close(figure)
