"""Metrics the field judges models by: precision/recall, confusion matrix, IoU,
Dice, PCK/OKS, COCO and VOC mAP (pycocotools is the reference)."""
