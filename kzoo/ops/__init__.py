"""Pure TensorFlow functions: box math, anchors, box coding, NMS, RoI sampling.

Layers in ``kzoo.layers`` are thin wrappers over these functions.
"""

from kzoo.ops import boxes
from kzoo.ops import anchors, box_coding, matching, nms, sampling
from kzoo.ops import roi_pooling, roi_sampling, unpooling
