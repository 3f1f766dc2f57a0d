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
    # On the shared box: the most likely caption sits on the box, the others above it, in order of score.
    offsets = {name: captions[name].xyann[1] for name in ("square 0.90", "triangle 0.60", "circle 0.40")}
    assert offsets["square 0.90"] == 0 < offsets["triangle 0.60"] < offsets["circle 0.40"]
    assert captions["circle 0.30"].xyann[1] == 0  # a box of its own starts its own stack
    renderer = figure.canvas.get_renderer()
    extents = [captions[name].get_bbox_patch().get_window_extent(renderer) for name in offsets]
    plt.close(figure)
    for i, first in enumerate(extents):
        for second in extents[i + 1:]:
            assert not first.overlaps(second), (first, second)
