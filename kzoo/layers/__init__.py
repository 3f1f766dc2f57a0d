"""Keras layers shared by every kzoo architecture, one public layer per file.

Importing this package registers every layer for ``.keras`` loading
(``keras.saving.load_model(..., safe_mode=True)``).
"""
from kzoo.layers.image_preprocessing import ImagePreprocessing
from kzoo.layers.anchor_generator import AnchorGenerator
from kzoo.layers.balanced_sampler import BalancedSampler
from kzoo.layers.box_coder import BoxCoder
from kzoo.layers.box_matcher import BoxMatcher
from kzoo.layers.default_boxes import DefaultBoxes
from kzoo.layers.detection_decoder import DetectionDecoder
from kzoo.layers.feature_pyramid import FeaturePyramid
from kzoo.layers.fused_batch_normalization import FusedBatchNormalization
from kzoo.layers.bed_of_nails_unpooling_2d import BedOfNailsUnpooling2D
from kzoo.layers.keypoint_decoder import KeypointDecoder
from kzoo.layers.mask_decoder import MaskDecoder
from kzoo.layers.max_pooling_with_argmax_2d import MaxPoolingWithArgmax2D
from kzoo.layers.max_unpooling_2d import MaxUnpooling2D
from kzoo.layers.multi_level_roi_align import MultiLevelRoIAlign
from kzoo.layers.nearest_unpooling_2d import NearestUnpooling2D
from kzoo.layers.ps_roi_align import PSRoIAlign
from kzoo.layers.ps_roi_head import PSRoIHead
from kzoo.layers.rcnn_head import RCNNHead
from kzoo.layers.rcnn_posthoc_losses import RCNNPostHocLosses
from kzoo.layers.region_proposals import RegionProposals
from kzoo.layers.roi_align import RoIAlign
from kzoo.layers.roi_box_head import RoIBoxHead
from kzoo.layers.roi_conv_head import RoIConvHead
from kzoo.layers.roi_head_losses import RoIHeadLosses
from kzoo.layers.roi_keypoint_losses import RoIKeypointLosses
from kzoo.layers.roi_mask_losses import RoIMaskLosses
from kzoo.layers.roi_pooling import RoIPooling
from kzoo.layers.roi_sampler import RoISampler
from kzoo.layers.rpn_head import RPNHead
from kzoo.layers.rpn_losses import RPNLosses
from kzoo.layers.sliding_windows import SlidingWindows
from kzoo.layers.transpose_conv_upsampling import TransposeConvUpsampling
from kzoo.layers.warped_regions import WarpedRegions
from kzoo.layers.yolo_boxes import YoloBoxes
