"""Keras layers shared by every kzoo architecture, one public layer per file.

Importing this package registers every layer for ``.keras`` loading
(``keras.saving.load_model(..., safe_mode=True)``).
"""
