"""Shared ops against their nearest TF equivalents, in one run.

- RoIAlign (512 RoIs, 7x7, 256 channels) against ``tf.image.crop_and_resize``
  (``benchmarks/ops_roi.py``);
- the detection decoder (about 50k anchors, 20 classes) against
  ``tf.image.combined_non_max_suppression`` (``benchmarks/ops_decoder.py``);
- max pooling with switches and max unpooling against
  ``tf.nn.max_pool_with_argmax`` and ``tf.scatter_nd`` (``benchmarks/ops_unpooling.py``).

Run: ``python benchmarks/ops.py``; each part also runs on its own.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ops_decoder  # noqa: E402
import ops_roi  # noqa: E402
import ops_unpooling  # noqa: E402

if __name__ == "__main__":
    sys.argv = sys.argv[:1]
    print("== RoIAlign vs tf.image.crop_and_resize")
    ops_roi.main()
    print("\n== DetectionDecoder vs tf.image.combined_non_max_suppression")
    ops_decoder.main()
    print("\n== max pooling with switches, max unpooling vs tf.nn.max_pool_with_argmax, tf.scatter_nd")
    ops_unpooling.main()
