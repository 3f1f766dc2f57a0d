import keras
from keras import ops

# Per-channel constants of the ImageNet-trained keras.applications nets.
_CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)
MODES = ("caffe", "tf", "torch", "unit")


@keras.saving.register_keras_serializable(package="kzoo")
class ImagePreprocessing(keras.layers.Layer):
    """Maps RGB images in [0, 255] to the input range a backbone was trained on.

    kzoo models take float images in [0, 255] (uint8 cast to float), so that a
    SavedModel or TFLite file can be fed raw pixels. Each backbone starts with
    this layer in the mode its ImageNet weights expect, which keeps
    ``weights="imagenet"`` correct without any preprocessing outside the model.

    Args:
        mode: ``"caffe"`` (RGB to BGR, subtract the ImageNet mean: VGG16,
            ResNet), ``"tf"`` (scale to [-1, 1]: MobileNetV2, Inception),
            ``"torch"`` (scale to [0, 1], normalize by ImageNet mean and std)
            or ``"unit"`` (scale to [0, 1]: nets trained from scratch).

    Call arguments:
        images: float tensor [N, H, W, 3], RGB in [0, 255].

    Returns:
        Float tensor of the same shape.

    Example:
        >>> layer = ImagePreprocessing("tf")
        >>> layer(np.full((1, 2, 2, 3), 255.0))[0, 0, 0]  # [1., 1., 1.]

    Reference:
        The preprocessing functions of ``keras.applications``.
    """

    def __init__(self, mode="unit", **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode

    def call(self, images):
        images = ops.cast(images, self.compute_dtype)
        if self.mode == "tf":
            return images / 127.5 - 1.0
        if self.mode == "unit":
            return images / 255.0
        if self.mode == "torch":
            mean = ops.convert_to_tensor(_TORCH_MEAN, self.compute_dtype)
            std = ops.convert_to_tensor(_TORCH_STD, self.compute_dtype)
            return (images / 255.0 - mean) / std
        bgr = ops.flip(images, axis=-1)
        return bgr - ops.convert_to_tensor(_CAFFE_BGR_MEAN, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
