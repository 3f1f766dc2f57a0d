"""Export: SavedModels for TF Serving, TFLite files for edge devices."""
