"""The lowest layer: box math, anchors, box coding, NMS, RoI sampling.

These are pure TensorFlow functions, graph-safe; layers in ``kzoo.layers``
are thin wrappers over them. The package also holds the few NumPy reference
helpers that several higher packages share on the host (``masks.paste_masks``,
used by ``kzoo.data``, ``kzoo.metrics`` and ``kzoo.viz``). ``kzoo.ops``
imports nothing else from kzoo.
"""

from kzoo.ops import boxes
from kzoo.ops import anchors, box_coding, masks, matching, nms, sampling
from kzoo.ops import proposals, region_targets, roi_pooling, roi_sampling, unpooling, yolo
