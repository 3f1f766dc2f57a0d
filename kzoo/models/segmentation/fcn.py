"""FCN-32s, FCN-16s and FCN-8s: a classification backbone made fully convolutional.

The backbone's coarsest features (stride 32) go through the "fully
connected" layers written as convolutions (fc6, fc7) to per-class scores,
which a transpose convolution upsamples back to the image. FCN-16s and
FCN-8s first fuse those coarse scores with scores of the stride-16 and
stride-8 features (skip connections: upsample 2x, add), which recovers
finer boundaries.
"""

import keras
from keras import layers

from kzoo.backbones import build_backbone
from kzoo.models.segmentation.bilinear_upsampling import bilinear_transpose_conv
from kzoo.models.segmentation.common import output_channels
from kzoo.models.segmentation.crop_to_match import CropToMatch
from kzoo.models.segmentation.pad_to_multiple import PadToMultiple, padded_size

# Output stride -> the backbone levels whose scores are fused, coarsest first.
VARIANTS = {32: ("P5",), 16: ("P5", "P4"), 8: ("P5", "P4", "P3")}
TOTAL_STRIDE = 32


def build_fcn(
    num_classes,
    output_stride=8,
    backbone="vgg16",
    input_shape=(128, 128, 3),
    weights=None,
    head_filters=1024,
    head_kernel_size=3,
    dropout=0.5,
    learn_final_upsampling=False,
):
    """A fully convolutional network, FCN-32s, 16s or 8s after ``output_stride``.

    Args:
        num_classes: object classes; the output has ``num_classes + 1``
            channels (0 is the background).
        output_stride: 32, 16 or 8: the stride of the finest fused scores.
        backbone: a name from ``kzoo.backbones.list_backbones()`` whose
            levels are exact strides ("tiny", "alexnet", "vgg16", "resnet50",
            "mobilenet_v2", ...).
        input_shape: (H, W, 3) of float RGB images in [0, 255]; any size
            (padded to a multiple of 32 inside, output cropped back).
        weights: backbone weights (None, ``"imagenet"`` or a file).
        head_filters: width of fc6 and fc7 (4096 in the paper).
        head_kernel_size: fc6's kernel (7 in the paper, over VGG's 7x7 map).
        dropout: dropout after fc6 and fc7.
        learn_final_upsampling: whether the last upsampling learns; the
            paper keeps it fixed to bilinear interpolation and learns the 2x
            steps (both start bilinear).

    Returns:
        A functional ``keras.Model`` named ``"fcn32s"``, ``"fcn16s"`` or
        ``"fcn8s"``: images -> logits [N, H, W, num_classes + 1].

    Reference:
        Long, Shelhamer and Darrell, "Fully Convolutional Networks for
        Semantic Segmentation", CVPR 2015.
    """
    if output_stride not in VARIANTS:
        raise ValueError(f"output_stride must be one of {sorted(VARIANTS)}, got {output_stride}")
    channels = output_channels(num_classes)
    input_shape = tuple(input_shape)
    padded_shape = tuple(padded_size(s, TOTAL_STRIDE) for s in input_shape[:2]) + (3,)
    features = build_backbone(backbone, padded_shape, weights=weights)
    levels = VARIANTS[output_stride]

    # Layers.
    head = [
        layers.Conv2D(head_filters, head_kernel_size, padding="same", activation="relu", name="fc6"),
        layers.Dropout(dropout, name="drop6"),
        layers.Conv2D(head_filters, 1, activation="relu", name="fc7"),
        layers.Dropout(dropout, name="drop7"),
        layers.Conv2D(channels, 1, name="score_fr"),
    ]
    # Zero-initialized skip scores: training starts from the coarser net's output.
    skip_scores = {
        level: layers.Conv2D(channels, 1, kernel_initializer="zeros", name=f"score_{level.lower()}")
        for level in levels[1:]
    }

    # Functional graph.
    images = keras.Input(input_shape, name="images")
    pyramid = features(PadToMultiple(TOTAL_STRIDE, name="pad")(images))
    scores = pyramid[levels[0]]
    for layer in head:
        scores = layer(scores)
    for level in levels[1:]:
        up = bilinear_transpose_conv(channels, 2, name=f"upscore_to_{level.lower()}")(scores)
        skip = skip_scores[level](pyramid[level])
        up = CropToMatch(name=f"crop_to_{level.lower()}")([up, skip])
        scores = layers.Add(name=f"fuse_{level.lower()}")([up, skip])
    scores = bilinear_transpose_conv(channels, output_stride, trainable=learn_final_upsampling, name="upscore")(scores)
    logits = CropToMatch(name="crop")([scores, images])
    return keras.Model(images, logits, name=f"fcn{output_stride}s")


def build_fcn32s(num_classes, backbone="vgg16", input_shape=(128, 128, 3), **kwargs):
    """FCN-32s: stride-32 scores upsampled 32x in one step. Arguments: ``build_fcn``'s."""
    return build_fcn(num_classes, 32, backbone, input_shape, **kwargs)


def build_fcn16s(num_classes, backbone="vgg16", input_shape=(128, 128, 3), **kwargs):
    """FCN-16s: stride-32 scores, 2x up, plus stride-16 scores, 16x up. Arguments: ``build_fcn``'s."""
    return build_fcn(num_classes, 16, backbone, input_shape, **kwargs)


def build_fcn8s(num_classes, backbone="vgg16", input_shape=(128, 128, 3), **kwargs):
    """FCN-8s: FCN-16s's fused scores, 2x up, plus stride-8 scores, 8x up. Arguments: ``build_fcn``'s."""
    return build_fcn(num_classes, 8, backbone, input_shape, **kwargs)
