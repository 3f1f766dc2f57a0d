import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from kzoo.viz import draw  # noqa: E402


def test_the_most_likely_caption_is_drawn_on_top():
    figure, ax = plt.subplots()
    box = [0.1, 0.1, 0.5, 0.5]
    draw.draw_boxes(ax, np.array([box, box, box, box]), np.array([0, 1, 2, -1]), 100, 100,
                    ["circle", "square", "triangle"], scores=np.array([0.4, 0.9, 0.6, 0.95]))
    captions = [text.get_text() for text in ax.texts]
    plt.close(figure)
    # Later artists are drawn over earlier ones; the padded row (class -1) is not drawn.
    assert captions == ["circle 0.40", "triangle 0.60", "square 0.90"]
