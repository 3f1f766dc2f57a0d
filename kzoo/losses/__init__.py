"""Losses: focal, Dice, smooth-L1/Huber, GIoU, detection multi-task, mask and keypoint.

Each loss is a function over plain tensors (reducing only what it is given)
and, where a model trains with it through ``model.compile``, a Keras loss
class registered under the ``kzoo`` package. The classes normalize by counts
over the global batch so ``tf.distribute`` training matches one device; see
``kzoo.losses.reduction``.
"""

from kzoo.losses.box_regression import GIoULoss
from kzoo.losses.box_regression import SmoothL1Loss
from kzoo.losses.box_regression import generalized_iou
from kzoo.losses.box_regression import giou_loss
from kzoo.losses.box_regression import huber_loss
from kzoo.losses.box_regression import smooth_l1_loss
from kzoo.losses.detection import FastRCNNLoss
from kzoo.losses.detection import RPNLoss
from kzoo.losses.detection import fast_rcnn_loss
from kzoo.losses.detection import rpn_loss
from kzoo.losses.dice import CrossEntropyDiceLoss
from kzoo.losses.dice import DiceLoss
from kzoo.losses.dice import dice_coefficient
from kzoo.losses.dice import dice_loss
from kzoo.losses.focal import FocalLoss
from kzoo.losses.focal import sigmoid_focal_loss
from kzoo.losses.focal import softmax_focal_loss
from kzoo.losses.keypoint import KeypointCoordinateLoss
from kzoo.losses.keypoint import KeypointHeatmapLoss
from kzoo.losses.keypoint import keypoint_coordinate_loss
from kzoo.losses.keypoint import keypoint_heatmap_loss
from kzoo.losses.keypoint import keypoint_heatmap_targets
from kzoo.losses.mask import MaskLoss
from kzoo.losses.mask import mask_loss
from kzoo.losses.mask import per_class_mask_targets
from kzoo.losses.model_output_loss import ModelOutputLoss
from kzoo.losses.svm import box_least_squares_loss, svm_hinge_loss
