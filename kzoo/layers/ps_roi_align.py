"""R-FCN's position-sensitive RoI pooling (with bilinear sampling) as a Keras layer."""

import keras

from kzoo.ops import roi_sampling


@keras.saving.register_keras_serializable(package="kzoo")
class PSRoIAlign(keras.layers.Layer):
    """Position-sensitive RoIAlign: bin ``(i, j)`` pools only its own score maps.

    R-FCN's head is a convolution producing ``k * k * D`` score maps
    (``D = C + 1`` class scores, or ``4`` box deltas): for each of the
    ``k x k`` relative positions in a box (top-left, top-center, ...), ``D``
    maps that respond to that part of an object. Bin ``(i, j)`` of every box
    averages bilinear samples, exactly as :class:`RoIAlign` does, but only
    from channels ``[(i * k + j) * D, (i * k + j + 1) * D)`` (position-major
    layout; torchvision's ``ps_roi_align`` orders channels class-major).
    ``vote=True`` then averages the ``k x k`` bins, R-FCN's vote, giving one
    score per class before the softmax.

    Args:
        output_size: int or pair ``(k, k)`` (R-FCN uses 7 or 3).
        sampling_ratio: bilinear samples per bin along each axis, >= 1.
        aligned: half-cell alignment, as in :class:`RoIAlign`.
        vote: return the ``[N, R, D]`` average over bins instead of the bins.
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``).

    Call arguments:
        inputs: list ``[score_maps, boxes]``: ``score_maps``
            ``[N, H, W, k * k * D]`` and ``boxes`` ``[N, R, 4]`` normalized.

    Returns:
        ``[N, R, k, k, D]``, or ``[N, R, D]`` with ``vote=True``.

    Example:
    >>> maps = np.random.rand(1, 32, 32, 3 * 3 * 21).astype("float32")
    >>> boxes = np.array([[[0.1, 0.2, 0.7, 0.9]]], "float32")
    >>> PSRoIAlign(3)([maps, boxes]).shape
    (1, 1, 3, 3, 21)
    >>> PSRoIAlign(3, vote=True)([maps, boxes]).shape
    (1, 1, 21)

    Reference:
        Dai, Li, He and Sun, "R-FCN: Object Detection via Region-based Fully
        Convolutional Networks", NeurIPS 2016; bilinear sampling from He et
        al., "Mask R-CNN", ICCV 2017.
    """

    def __init__(self, output_size=7, sampling_ratio=2, aligned=True, vote=False, **kwargs):
        # Maps are cast to the compute dtype in call; boxes keep float32 precision
        # under mixed precision instead of being autocast to float16.
        kwargs.pop("autocast", None)
        super().__init__(autocast=False, **kwargs)
        self.output_size = roi_sampling._pair(output_size, "output_size")
        self.sampling_ratio = roi_sampling._check_sampling(sampling_ratio)
        self.aligned = bool(aligned)
        self.vote = bool(vote)

    def call(self, inputs):
        score_maps, boxes = inputs
        score_maps = keras.ops.cast(score_maps, self.compute_dtype)
        pooled = roi_sampling.ps_roi_align(
            score_maps, boxes, self.output_size, self.sampling_ratio, self.aligned
        )
        return roi_sampling.position_sensitive_vote(pooled) if self.vote else pooled

    def compute_output_shape(self, input_shape):
        maps_shape, boxes_shape = input_shape
        depth = None if maps_shape[-1] is None else maps_shape[-1] // (self.output_size[0] * self.output_size[1])
        if self.vote:
            return (maps_shape[0], boxes_shape[1], depth)
        return (maps_shape[0], boxes_shape[1], *self.output_size, depth)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "output_size": self.output_size,
                "sampling_ratio": self.sampling_ratio,
                "aligned": self.aligned,
                "vote": self.vote,
            }
        )
        return config
