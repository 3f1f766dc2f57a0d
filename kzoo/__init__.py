"""kzoo: a TensorFlow/Keras 3 model zoo for the CNN applications of computer vision.

>>> import kzoo
>>> kzoo.list_models()
>>> model = kzoo.build("classifier", num_classes=10, backbone="tiny", input_shape=(64, 64, 3))
"""

import kzoo.layers  # noqa: F401  (registers serializable layers for .keras loading)
from kzoo.models import build, list_models

__version__ = "0.1.0"
__all__ = ["build", "list_models", "__version__"]
