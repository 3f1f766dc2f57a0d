"""Semantic segmentation: sliding window, FCN-32s/16s/8s, DeconvNet and U-Net.

Every model maps float RGB images [N, H, W, 3] in [0, 255] to logits
[N, H, W, num_classes + 1] at the input size (channel 0 is the background),
and shares targets, compile and decode (``common``).
"""

from kzoo.models.segmentation.bilinear_upsampling import BilinearUpsampling, bilinear_kernel
from kzoo.models.segmentation.common import (
    LOSSES,
    compile_segmentation,
    decode_segmentation,
    segmentation_loss,
    segmentation_targets,
)
from kzoo.models.segmentation.crop_to_match import CropToMatch
from kzoo.models.segmentation.deconvnet import build_deconvnet
from kzoo.models.segmentation.fcn import build_fcn, build_fcn8s, build_fcn16s, build_fcn32s
from kzoo.models.segmentation.pad_to_multiple import PadToMultiple, pad_to_multiple
from kzoo.models.segmentation.sliding_window import (
    build_patch_classifier,
    build_sliding_window_segmenter,
    copy_sliding_window_weights,
    naive_sliding_window,
)
from kzoo.models.segmentation.unet import build_unet
