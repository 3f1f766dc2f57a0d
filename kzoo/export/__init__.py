"""Export: SavedModels for TF Serving, TFLite files for edge devices, and running them."""

from kzoo.export.inference import make_inference_fn
from kzoo.export.predictor import load_predictor
from kzoo.export.saved_model import export_saved_model, next_version
from kzoo.export.tflite import export_tflite
