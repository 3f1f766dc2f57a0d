"""Box coding relative to anchors, as a Keras layer."""

import keras

from kzoo.ops import box_coding


@keras.saving.register_keras_serializable(package="kzoo")
class BoxCoder(keras.layers.Layer):
    """Encode boxes as anchor-relative deltas and decode them back.

    Deltas are ``(ty, tx, th, tw)``: the centre offset in units of the
    anchor's size and the log of the size ratio, each multiplied by its weight
    (see ``kzoo.ops.box_coding``). Calling the layer decodes, which is what a
    detector does inside its graph; ``encode`` builds training targets.

    Args:
        box_weights: ``(wy, wx, wh, ww)``; ``(1, 1, 1, 1)`` for RPN and RetinaNet,
            ``(10, 10, 5, 5)`` for Faster R-CNN's second stage.
        scale_clip: upper bound on the log-scale deltas ``th / wh`` and
            ``tw / ww`` when decoding (default ``log(1000 / 16)``); ``None``
            disables it.
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        inputs: ``[deltas, anchors]``: deltas float32 [N, A, 4] and anchors
            [N, A, 4] (or [A, 4]).

    Returns:
        float32 [N, A, 4] decoded boxes ``[ymin, xmin, ymax, xmax]``, not
        clipped to the image.

    Example:

    >>> coder = BoxCoder(box_weights=(10.0, 10.0, 5.0, 5.0))
    >>> targets = coder.encode(gt_boxes, anchors)
    >>> boxes = coder([targets, anchors])  # == gt_boxes

    Reference:
        Girshick et al., "Rich feature hierarchies for accurate object
        detection and semantic segmentation", CVPR 2014 (appendix C);
        Ren et al., "Faster R-CNN", NeurIPS 2015.
    """

    def __init__(self, box_weights=box_coding.DEFAULT_WEIGHTS, scale_clip=box_coding.DEFAULT_SCALE_CLIP, **kwargs):
        # Box coordinates stay float32 under a mixed-precision policy.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if len(box_weights) != 4:
            raise ValueError(f"box_weights must have 4 entries (wy, wx, wh, ww), got {box_weights}")
        self.box_weights = tuple(float(w) for w in box_weights)
        self.scale_clip = None if scale_clip is None else float(scale_clip)

    def encode(self, boxes, anchors):
        """Deltas [..., 4] that decode ``anchors`` into ``boxes``."""
        return box_coding.encode_boxes(boxes, anchors, self.box_weights)

    def decode(self, deltas, anchors):
        """Boxes [..., 4] from deltas relative to ``anchors``."""
        return box_coding.decode_boxes(deltas, anchors, self.box_weights, self.scale_clip)

    def call(self, inputs):
        deltas, anchors = inputs
        return self.decode(deltas, anchors)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        config = super().get_config()
        config.update({"box_weights": list(self.box_weights), "scale_clip": self.scale_clip})
        return config
