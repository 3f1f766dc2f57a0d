"""U-Net: a contracting path, an expanding path, and skip concatenations between them.

The expanding path upsamples the coarse features step by step and, at each
resolution, concatenates the contracting path's features of that resolution
before two more convolutions: the coarse maps say what is there, the skips
say exactly where.
"""

import keras
from keras import layers

from kzoo.backbones import LEVEL_STRIDES, build_backbone
from kzoo.layers.bed_of_nails_unpooling_2d import BedOfNailsUnpooling2D
from kzoo.layers.fused_batch_normalization import FusedBatchNormalization
from kzoo.layers.image_preprocessing import ImagePreprocessing
from kzoo.layers.max_pooling_with_argmax_2d import MaxPoolingWithArgmax2D
from kzoo.layers.max_unpooling_2d import MaxUnpooling2D
from kzoo.layers.nearest_unpooling_2d import NearestUnpooling2D
from kzoo.layers.transpose_conv_upsampling import TransposeConvUpsampling
from kzoo.models.segmentation.common import output_channels
from kzoo.models.segmentation.crop_to_match import CropToMatch
from kzoo.models.segmentation.pad_to_multiple import PadToMultiple, padded_size

UPSAMPLINGS = ("transpose_conv", "nearest", "bed_of_nails", "max_unpooling")
PLAIN = "plain"


def _double_conv(x, filters, name, batch_norm):
    for i in (1, 2):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=not batch_norm, name=f"{name}_conv{i}")(x)
        if batch_norm:
            x = FusedBatchNormalization(name=f"{name}_bn{i}")(x)
        x = layers.ReLU(name=f"{name}_relu{i}")(x)
    return x


def _upsample(x, filters, upsampling, name, switches=None):
    """2x upsampling to ``filters`` channels: the paper's 2x2 up-convolution or an unpooling and a conv."""
    if upsampling == "transpose_conv":
        return TransposeConvUpsampling(filters, kernel_size=2, activation="relu", name=f"{name}_up")(x)
    if upsampling == "max_unpooling":
        # The switches index the skip's channels, so narrow to them first.
        x = layers.Conv2D(filters, 1, activation="relu", name=f"{name}_narrow")(x)
        return MaxUnpooling2D(2, name=f"{name}_unpool")([x, switches])
    unpool = NearestUnpooling2D if upsampling == "nearest" else BedOfNailsUnpooling2D
    x = unpool(2, name=f"{name}_unpool")(x)
    return layers.Conv2D(filters, 2, padding="same", activation="relu", name=f"{name}_up")(x)


def _plain_encoder(x, filters, batch_norm, keep_switches):
    """The classic contracting path: two 3x3 convs per level, 2x2 max pooling between levels."""
    skips, switches = [], []
    for level, width in enumerate(filters[:-1], start=1):
        x = _double_conv(x, width, f"down{level}", batch_norm)
        skips.append(x)
        if keep_switches:
            x, argmax = MaxPoolingWithArgmax2D(2, name=f"pool{level}")(x)
            switches.append(argmax)
        else:
            x = layers.MaxPooling2D(2, name=f"pool{level}")(x)
    x = _double_conv(x, filters[-1], "bottom", batch_norm)
    return x, skips, switches


def build_unet(
    num_classes,
    backbone=PLAIN,
    input_shape=(128, 128, 3),
    weights=None,
    upsampling="transpose_conv",
    filters=(64, 128, 256, 512, 1024),
    decoder_filters=(256, 128, 64, 32, 16),
    batch_norm=True,
    pad_mode="constant",
):
    """U-Net with the classic plain encoder or any kzoo backbone as its contracting path.

    Convolutions are "same"-padded (the paper's are "valid", with
    overlap-tile inference), so the output covers the whole input.

    Args:
        num_classes: object classes; the output has ``num_classes + 1``
            channels (0 is the background).
        backbone: ``"plain"`` for the paper's encoder (widths ``filters``),
            or a name from ``kzoo.backbones.list_backbones()``, whose levels
            P5..P2 become the contracting path.
        input_shape: (H, W, 3) of float RGB images in [0, 255]; any size
            (padded to a multiple of the total stride inside, output cropped
            back).
        weights: backbone weights (None, ``"imagenet"`` or a file path).
        upsampling: ``"transpose_conv"`` (the paper's 2x2 up-convolution),
            ``"nearest"`` or ``"bed_of_nails"`` unpooling followed by a 2x2
            convolution, or ``"max_unpooling"`` with the encoder's pooling
            switches (plain encoder only).
        filters: plain encoder widths, one per level (the last is the bottom).
        decoder_filters: expanding-path widths at strides 16, 8, 4, 2, 1 for
            a backbone encoder (the plain encoder mirrors ``filters``).
        batch_norm: batch normalization after every convolution.
        pad_mode: how the input is padded to the total stride
            (``"constant"``, ``"reflect"`` or ``"symmetric"``).

    Returns:
        A functional ``keras.Model`` named ``"unet"``: images -> logits
        [N, H, W, num_classes + 1].

    Reference:
        Ronneberger, Fischer and Brox, "U-Net: Convolutional Networks for
        Biomedical Image Segmentation", MICCAI 2015.
    """
    if upsampling not in UPSAMPLINGS:
        raise ValueError(f"upsampling must be one of {UPSAMPLINGS}, got {upsampling!r}")
    if upsampling == "max_unpooling" and backbone != PLAIN:
        raise ValueError("max_unpooling needs the switches of the plain encoder's poolings; use backbone='plain'")
    input_shape = tuple(input_shape)
    images = keras.Input(input_shape, name="images")

    if backbone == PLAIN:
        stride = 2 ** (len(filters) - 1)
        x = PadToMultiple(stride, pad_mode, name="pad")(images)
        x = ImagePreprocessing("unit", name="preprocess")(x)
        x, skips, switches = _plain_encoder(x, filters, batch_norm, upsampling == "max_unpooling")
        widths = list(filters[:-1])
    else:
        stride = max(LEVEL_STRIDES.values())
        padded_shape = tuple(padded_size(s, stride) for s in input_shape[:2]) + (3,)
        features = build_backbone(backbone, padded_shape, weights=weights)
        pyramid = features(PadToMultiple(stride, pad_mode, name="pad")(images))
        levels = sorted(LEVEL_STRIDES, key=LEVEL_STRIDES.get)
        x, skips, switches = pyramid[levels[-1]], [None, None] + [pyramid[level] for level in levels[:-1]], []
        if len(decoder_filters) != len(skips):
            raise ValueError(f"decoder_filters needs {len(skips)} widths (strides 16 to 1), got {decoder_filters}")
        widths = list(reversed(decoder_filters))

    # Expanding path, coarsest first; a backbone has no stride-1 and stride-2 skips.
    for level in range(len(widths), 0, -1):
        name = f"up{level}"
        x = _upsample(x, widths[level - 1], upsampling, name, switches[level - 1] if switches else None)
        skip = skips[level - 1]
        if skip is not None:
            x = layers.Concatenate(name=f"{name}_concat")([skip, CropToMatch(name=f"{name}_crop")([x, skip])])
        x = _double_conv(x, widths[level - 1], name, batch_norm)

    scores = layers.Conv2D(output_channels(num_classes), 1, name="score")(x)
    logits = CropToMatch(name="crop")([scores, images])
    return keras.Model(images, logits, name="unet")
