"""Pure TensorFlow functions: box math, anchors, box coding, NMS, RoI sampling.

Layers in ``kzoo.layers`` are thin wrappers over these functions.
"""

from kzoo.ops import boxes
