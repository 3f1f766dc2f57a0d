"""kzoo: a TensorFlow/Keras 3 model zoo for the CNN applications of computer vision.

>>> import kzoo
>>> kzoo.list_models()
>>> model = kzoo.build("classifier", num_classes=10, backbone="tiny", input_shape=(64, 64, 3))
"""

# Importing kzoo registers every serializable class (layers, losses, metrics, optimizers)
# so that any kzoo checkpoint loads with keras.saving.load_model(safe_mode=True).
import kzoo.layers  # noqa: F401
import kzoo.losses  # noqa: F401
import kzoo.metrics  # noqa: F401
import kzoo.optimizers  # noqa: F401
from kzoo.checkpoints import load_checkpoint
from kzoo.models import build, list_models

__version__ = "0.1.0"
__all__ = ["build", "list_models", "load_checkpoint", "__version__"]
