"""DeconvNet: a VGG-style encoder mirrored by unpooling and deconvolution layers.

Every 2x2 max pooling of the encoder records where its maxima were (the
"switches"); the decoder's max unpooling puts values back at exactly those
positions and its deconvolution (transpose convolution) layers densify the
sparse maps, so object shapes come back at full resolution. The
bed-of-nails variant unpools to the top-left of every cell instead, with no
memory of the encoder: the comparison shows what the switches are worth.
"""

import dataclasses

import keras
from keras import layers

from kzoo.layers.bed_of_nails_unpooling_2d import BedOfNailsUnpooling2D
from kzoo.layers.fused_batch_normalization import FusedBatchNormalization
from kzoo.layers.image_preprocessing import ImagePreprocessing
from kzoo.layers.max_pooling_with_argmax_2d import MaxPoolingWithArgmax2D
from kzoo.layers.max_unpooling_2d import MaxUnpooling2D
from kzoo.models.segmentation.common import output_channels
from kzoo.models.segmentation.crop_to_match import CropToMatch
from kzoo.models.segmentation.pad_to_multiple import PadToMultiple

UNPOOLINGS = ("switches", "bed_of_nails")


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
    """A VGG-style encoder: blocks of 3x3 convolutions, each block ending in 2x2 max pooling.

    Attributes:
        filters: filters of each block's convolutions.
        convs: convolutions in each block.
        fc_filters: width of the fc6/fc7 convolutions between encoder and decoder.
    """

    filters: tuple
    convs: tuple
    fc_filters: int


ENCODERS = {
    "vgg16": EncoderConfig((64, 128, 256, 512, 512), (2, 2, 3, 3, 3), 4096),
    "small": EncoderConfig((16, 32, 64, 128, 128), (2, 2, 2, 2, 2), 256),
    # U-Net's plain widths: half of "small" at full resolution, so about twice the steps on a CPU.
    "slim": EncoderConfig((8, 16, 32, 64, 128), (2, 2, 2, 2, 2), 256),
    "tiny": EncoderConfig((8, 16, 24, 32, 32), (1, 1, 1, 1, 1), 32),
}


def _conv_bn_relu(x, filters, name, transpose=False):
    conv = layers.Conv2DTranspose if transpose else layers.Conv2D
    x = conv(filters, 3, padding="same", use_bias=False, name=name)(x)
    x = FusedBatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_deconvnet(num_classes, backbone="vgg16", input_shape=(128, 128, 3), unpooling="switches"):
    """DeconvNet, with max-unpooling switches or bed-of-nails unpooling.

    Deviations from the paper, for any input size and from-scratch
    training: fc6 is a 3x3 "same" convolution (not 7x7 "valid" over a
    7x7 map) and its mirror a 3x3 deconvolution; batch normalization
    follows every (de)convolution, as in the paper's released model.

    Args:
        num_classes: object classes; the output has ``num_classes + 1``
            channels (0 is the background).
        backbone: the encoder preset, a key of ``ENCODERS`` (the decoder
            mirrors it, so the encoder is built here rather than taken from
            ``kzoo.backbones``, whose poolings keep no switches).
        input_shape: (H, W, 3) of float RGB images in [0, 255]; any size
            (padded to a multiple of 32 inside, output cropped back).
        unpooling: ``"switches"`` (``MaxPoolingWithArgmax2D`` /
            ``MaxUnpooling2D``) or ``"bed_of_nails"`` (``MaxPooling2D`` /
            ``BedOfNailsUnpooling2D``).

    Returns:
        A functional ``keras.Model`` named ``"deconvnet"``: images ->
        logits [N, H, W, num_classes + 1].

    Reference:
        Noh, Hong and Han, "Learning Deconvolution Network for Semantic
        Segmentation", ICCV 2015.
    """
    if backbone not in ENCODERS:
        raise ValueError(
            f"DeconvNet builds its own mirrored encoder; backbone must be one of {sorted(ENCODERS)}, got {backbone!r}"
        )
    if unpooling not in UNPOOLINGS:
        raise ValueError(f"unpooling must be one of {UNPOOLINGS}, got {unpooling!r}")
    config = ENCODERS[backbone]
    depth = len(config.filters)

    images = keras.Input(input_shape, name="images")
    x = PadToMultiple(2**depth, name="pad")(images)
    x = ImagePreprocessing("unit", name="preprocess")(x)

    # Encoder: conv blocks, each pooled; the switches are kept for the decoder.
    switches = []
    for block, (filters, convs) in enumerate(zip(config.filters, config.convs), start=1):
        for i in range(1, convs + 1):
            x = _conv_bn_relu(x, filters, f"conv{block}_{i}")
        if unpooling == "switches":
            x, argmax = MaxPoolingWithArgmax2D(2, name=f"pool{block}")(x)
            switches.append(argmax)
        else:
            x = layers.MaxPooling2D(2, name=f"pool{block}")(x)

    x = _conv_bn_relu(x, config.fc_filters, "fc6")
    x = layers.Conv2D(config.fc_filters, 1, use_bias=False, name="fc7")(x)
    x = layers.ReLU(name="fc7_relu")(FusedBatchNormalization(name="fc7_bn")(x))
    x = _conv_bn_relu(x, config.filters[-1], "deconv_fc6", transpose=True)

    # Decoder: the mirror image, unpooling then deconvolution layers.
    for block in range(depth, 0, -1):
        if unpooling == "switches":
            x = MaxUnpooling2D(2, name=f"unpool{block}")([x, switches[block - 1]])
        else:
            x = BedOfNailsUnpooling2D(2, name=f"unpool{block}")(x)
        convs = config.convs[block - 1]
        for i in range(convs, 0, -1):
            # The last deconvolution of a block narrows to the next block's width.
            filters = config.filters[block - 2] if i == 1 and block > 1 else config.filters[block - 1]
            x = _conv_bn_relu(x, filters, f"deconv{block}_{i}", transpose=True)

    scores = layers.Conv2D(output_channels(num_classes), 1, name="score")(x)
    logits = CropToMatch(name="crop")([scores, images])
    return keras.Model(images, logits, name="deconvnet")
