"""Losses: focal, Dice, smooth-L1/Huber, GIoU, detection multi-task, mask and keypoint."""
