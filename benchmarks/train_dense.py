"""Dense-prediction models trained from scratch on the built-in datasets, on this CPU.

Runs both halves in one process and prints their tables:

- ``train_dense_segmentation.py``: U-Net, FCN-8s, DeconvNet, sliding window on
  ``shapes`` (mIoU, Dice; the sliding window's naive vs convolutional time);
- ``train_dense_localization_pose.py``: classification + localization on
  ``fashion_scenes/single`` (class accuracy, mean IoU, accuracy at IoU 0.5)
  and DeepPose on ``stick_figures/single`` (PCK@0.2).

Run: ``python benchmarks/train_dense.py [--budget SECONDS]`` (training time per
model, 900 by default); each half also runs on its own with more options.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import train_dense_localization_pose  # noqa: E402
import train_dense_segmentation  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default="900", help="training seconds per model")
    parser.add_argument("--test-limit", default=None, help="score only the first N test images")
    args = parser.parse_args()
    extra = ["--budget", args.budget] + (["--test-limit", args.test_limit] if args.test_limit else [])
    print("== segmentation")
    train_dense_segmentation.main(extra)
    print("\n== classification + localization, pose")
    train_dense_localization_pose.main(extra)


if __name__ == "__main__":
    main()
