"""Pictures: dataset samples and predictions drawn for every task family."""

from kzoo.viz.pictures import save_grid, show_element, show_prediction
