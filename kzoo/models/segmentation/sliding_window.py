"""Sliding-window segmentation: a patch classifier and its fully convolutional form.

The naive method crops a patch around every pixel and classifies the patch;
the label is the centre pixel's. Neighbouring patches overlap almost
entirely, so the same convolutions are recomputed for every pixel. Written
as convolutions over the whole (padded) image, the same network computes
every pixel's label at once:

- a fully connected layer over a ``k x k x C`` map is a ``k x k`` convolution
  with the same weights (``Dense`` kernel ``[k*k*C, U]`` reshaped to
  ``[k, k, C, U]``: both flatten row-major), and a fully connected layer
  over a vector is a ``1 x 1`` convolution;
- the 2x2 max pooling of the patch network keeps every other position; over
  the whole image it runs with stride 1 (every position is some patch's
  "every other"), and each later layer reads its inputs two positions apart
  (dilation 2), the "filter rarefaction" of OverFeat and of FCN's
  shift-and-stitch.

So the fully convolutional network outputs, at pixel ``(y, x)``, exactly the
patch network's logits for the patch whose ``(P // 2, P // 2)`` pixel is
``(y, x)`` (zero padding outside the image). Training the fully
convolutional form with a per-pixel loss is training the patch classifier on
every patch of every image.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from kzoo.layers.fused_batch_normalization import FusedBatchNormalization
from kzoo.layers.image_preprocessing import ImagePreprocessing
from kzoo.models.segmentation.common import output_channels


@dataclasses.dataclass(frozen=True)
class PatchNetConfig:
    """Widths of a patch classifier: convs, one 2x2 max pooling, convs, two fully connected layers.

    Attributes:
        before_pool: filters of the 3x3 convolutions before the pooling.
        after_pool: filters of the 3x3 convolutions after it.
        final_size: side of the last feature map, read by the first fully
            connected layer.
        hidden_units: width of the hidden fully connected layer.
    """

    before_pool: tuple
    after_pool: tuple
    final_size: int
    hidden_units: int

    @property
    def patch_size(self):
        """Side of the patch: every valid 3x3 conv takes 2 pixels, the pooling halves."""
        return 2 * len(self.before_pool) + 2 * (2 * len(self.after_pool) + self.final_size)


PATCH_NETS = {
    "tiny": PatchNetConfig(before_pool=(8, 8), after_pool=(16,), final_size=2, hidden_units=16),
    "small": PatchNetConfig(before_pool=(16, 16), after_pool=(32, 32, 32), final_size=4, hidden_units=64),
}


def _config(backbone):
    if backbone not in PATCH_NETS:
        raise ValueError(
            f"the sliding-window patch classifier has its own convolutions; backbone must be one of "
            f"{sorted(PATCH_NETS)}, got {backbone!r}"
        )
    return PATCH_NETS[backbone]


def _conv_stack(x, config, dense):
    """The shared convolutions; ``dense`` runs them over a whole image (stride-1 pool, dilation 2)."""
    index = 0
    for filters in config.before_pool:
        index += 1
        x = layers.Conv2D(filters, 3, use_bias=False, name=f"conv{index}")(x)
        x = FusedBatchNormalization(name=f"bn{index}")(x)
        x = layers.ReLU(name=f"relu{index}")(x)
    x = layers.MaxPooling2D(2, strides=1 if dense else 2, name="pool")(x)
    for filters in config.after_pool:
        index += 1
        x = layers.Conv2D(filters, 3, dilation_rate=2 if dense else 1, use_bias=False, name=f"conv{index}")(x)
        x = FusedBatchNormalization(name=f"bn{index}")(x)
        x = layers.ReLU(name=f"relu{index}")(x)
    return x


def build_patch_classifier(num_classes, backbone="small"):
    """The naive form: a classifier of one ``P x P`` patch, labelling its centre pixel.

    Args:
        num_classes: object classes; the output has ``num_classes + 1``
            logits (0 is the background).
        backbone: the width preset, a key of ``PATCH_NETS``.

    Returns:
        A ``keras.Model`` named ``"patch_classifier"``: float patches
        [N, P, P, 3] in [0, 255] -> logits [N, num_classes + 1], with
        ``P = PATCH_NETS[backbone].patch_size``.
    """
    config = _config(backbone)
    size = config.patch_size
    patches = keras.Input((size, size, 3), name="patches")
    x = ImagePreprocessing("unit", name="preprocess")(patches)
    x = _conv_stack(x, config, dense=False)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(config.hidden_units, activation="relu", name="fc1")(x)
    logits = layers.Dense(output_channels(num_classes), name="fc2")(x)
    return keras.Model(patches, logits, name="patch_classifier")


def build_sliding_window_segmenter(num_classes, backbone="small", input_shape=(128, 128, 3)):
    """The fully convolutional form of ``build_patch_classifier``: every pixel's label at once.

    The image is zero-padded by ``P // 2`` before and ``P - 1 - P // 2``
    after, so the output has the input's size at any size (H and W may be
    None).

    Args:
        num_classes: object classes; ``num_classes + 1`` output channels.
        backbone: the width preset, a key of ``PATCH_NETS`` (the patch
            network has its own convolutions: no stride, so no pyramid
            backbone fits it).
        input_shape: (H, W, 3) of float RGB images in [0, 255].

    Returns:
        A ``keras.Model`` named ``"sliding_window_segmenter"``: images ->
        logits [N, H, W, num_classes + 1], the same layer names (and weights,
        after ``copy_sliding_window_weights``) as the patch classifier.

    Reference:
        Farabet, Couprie, Najman and LeCun, "Learning Hierarchical Features
        for Scene Labeling", TPAMI 2013; Pinheiro and Collobert, "Recurrent
        Convolutional Neural Networks for Scene Labeling", ICML 2014;
        Sermanet et al., "OverFeat", ICLR 2014 (fully connected layers as
        convolutions, dense evaluation).
    """
    config = _config(backbone)
    size = config.patch_size
    before, after = size // 2, size - 1 - size // 2
    images = keras.Input(input_shape, name="images")
    x = layers.ZeroPadding2D(((before, after), (before, after)), name="patch_padding")(images)
    x = ImagePreprocessing("unit", name="preprocess")(x)
    x = _conv_stack(x, config, dense=True)
    k = config.final_size
    x = layers.Conv2D(config.hidden_units, k, dilation_rate=2, activation="relu", name="fc1")(x)
    logits = layers.Conv2D(output_channels(num_classes), 1, name="fc2")(x)
    return keras.Model(images, logits, name="sliding_window_segmenter")


def copy_sliding_window_weights(source, target):
    """Copy weights between a patch classifier and a sliding-window segmenter (either way).

    Layers are matched by name; a fully connected kernel and its
    convolution kernel hold the same numbers in a different shape, so each
    weight is reshaped to the target's shape.

    Returns:
        ``target``.
    """
    for layer in source.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        other = target.get_layer(layer.name)
        shapes = [w.shape for w in other.get_weights()]
        other.set_weights([np.reshape(w, shape) for w, shape in zip(weights, shapes)])
    return target


def naive_sliding_window(patch_classifier, images, batch_size=4096):
    """The naive method: crop the patch around every pixel and classify each crop.

    Args:
        patch_classifier: a model from ``build_patch_classifier``.
        images: float [N, H, W, 3] in [0, 255].
        batch_size: patches per classifier call.

    Returns:
        NumPy logits [N, H, W, C]: pixel ``(y, x)`` gets the logits of the
        patch whose ``(P // 2, P // 2)`` pixel it is (zeros outside the image).
    """
    images = np.asarray(images, np.float32)
    size = patch_classifier.input_shape[1]
    before, after = size // 2, size - 1 - size // 2
    padded = np.pad(images, ((0, 0), (before, after), (before, after), (0, 0)))
    _, height, width, _ = images.shape
    outputs = []
    for image in padded:
        patches = tf.image.extract_patches(
            image[None], sizes=[1, size, size, 1], strides=[1, 1, 1, 1], rates=[1, 1, 1, 1], padding="VALID"
        )
        patches = tf.reshape(patches, [height * width, size, size, 3])
        logits = patch_classifier.predict(patches, batch_size=batch_size, verbose=0)
        outputs.append(logits.reshape(height, width, -1))
    return np.stack(outputs)
