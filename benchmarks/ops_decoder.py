"""Detection decoder speed against tf.image.combined_non_max_suppression.

Both sides do the same job on the same inputs in one run: RetinaNet-style
outputs for a 512 x 512 image (49,104 anchors on P3-P7, 20 classes), score
threshold 0.05, per-class NMS at IoU 0.5, 100 detections per image. Every
path runs as a ``tf.function`` graph; times are medians over repeats, with
the two sides timed in alternation.

- ``nms``: ``DetectionDecoder.nms`` on decoded boxes and sigmoid scores
  against ``combined_non_max_suppression`` on the same tensors.
- ``decode+nms``: the full ``DetectionDecoder`` on raw deltas and logits
  against decoding, a sigmoid and ``combined_non_max_suppression``.
- ``tflite``: the converted decoder (builtin ops only) in the LiteRT
  interpreter, batch 1; TFLite has no ``combined_non_max_suppression``.

``agreement`` is the share of the reference's detections (same class, box
IoU > 0.99) that the decoder also returns: its pre-NMS top-k (1000 pairs per
image) is the only intended difference.

Run: ``python benchmarks/ops_decoder.py`` (``--repeats N``).
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kzoo.layers import AnchorGenerator, DetectionDecoder  # noqa: E402
from kzoo.ops import box_coding  # noqa: E402
from kzoo.ops import boxes as box_ops  # noqa: E402
from timing import alternating_median_ms  # noqa: E402

NUM_CLASSES = 20
IMAGE_SIZE = 512
IOU, SCORE, MAX_DETECTIONS, TOP_K = 0.5, 0.05, 100, 1000


def make_inputs(batch, seed=0):
    """Anchors, deltas and logits; about 2% of (anchor, class) pairs score above 0.05."""
    rng = np.random.default_rng(seed)
    anchors = AnchorGenerator()(tf.zeros((batch, IMAGE_SIZE, IMAGE_SIZE, 3)))
    num_anchors = anchors.shape[1]
    deltas = tf.constant(rng.normal(0.0, 0.2, (batch, num_anchors, 4)), tf.float32)
    logits = tf.constant(rng.normal(-6.0, 1.5, (batch, num_anchors, NUM_CLASSES)), tf.float32)
    return deltas, logits, anchors


def _agreement(ours, theirs):
    """Share of the reference detections that the decoder also found."""
    found = total = 0
    for n in range(theirs["num_detections"].shape[0]):
        k_ref, k_ours = int(theirs["num_detections"][n]), int(ours["num_detections"][n])
        ref_boxes, our_boxes = theirs["detection_boxes"][n, :k_ref], ours["detection_boxes"][n, :k_ours]
        same_class = theirs["detection_classes"][n, :k_ref, None] == ours["detection_classes"][n, None, :k_ours]
        iou = box_ops.pairwise_iou(ref_boxes, our_boxes).numpy()
        found += int(np.sum(np.any((iou > 0.99) & same_class, axis=1)))
        total += k_ref
    return found / max(total, 1)


def run(batches=(1, 4), repeats=20):
    """Time every path; returns a list of result dicts (one per path and batch)."""
    decoder = DetectionDecoder(NUM_CLASSES, IOU, SCORE, MAX_DETECTIONS, pre_nms_top_k=TOP_K)

    def reference_nms(boxes, scores):
        boxes, scores, classes, count = tf.image.combined_non_max_suppression(
            boxes[:, :, None, :], scores, MAX_DETECTIONS, MAX_DETECTIONS, IOU, SCORE, clip_boxes=False
        )
        return {
            "detection_boxes": boxes,
            "detection_scores": scores,
            "detection_classes": tf.cast(classes, tf.int32),
            "num_detections": count,
        }

    def reference_decode_nms(deltas, logits, anchors):
        boxes = tf.clip_by_value(box_coding.decode_boxes(deltas, anchors), 0.0, 1.0)
        return reference_nms(boxes, tf.sigmoid(logits))

    ours_nms = tf.function(decoder.nms)
    ours_full = tf.function(lambda d, lg, a: decoder([d, lg, a]))
    theirs_nms = tf.function(reference_nms)
    theirs_full = tf.function(reference_decode_nms)

    results = []
    for batch in batches:
        deltas, logits, anchors = make_inputs(batch)
        boxes = tf.clip_by_value(box_coding.decode_boxes(deltas, anchors), 0.0, 1.0)
        scores = tf.sigmoid(logits)
        for name, ours, theirs, args in (
            ("nms", ours_nms, theirs_nms, (boxes, scores)),
            ("decode+nms", ours_full, theirs_full, (deltas, logits, anchors)),
        ):
            ours_ms, theirs_ms = alternating_median_ms([ours, theirs], args, repeats, warmup=5)
            agreement = _agreement(
                tf.nest.map_structure(np.asarray, ours(*args)), tf.nest.map_structure(np.asarray, theirs(*args))
            )
            results.append(
                {
                    "path": name,
                    "batch": batch,
                    "anchors": int(anchors.shape[1]),
                    "classes": NUM_CLASSES,
                    "kzoo_ms": ours_ms,
                    "tf_combined_nms_ms": theirs_ms,
                    "speedup": theirs_ms / ours_ms,
                    "agreement": agreement,
                }
            )
    results.append(_tflite_result(decoder, repeats))
    return results


def _tflite_result(decoder, repeats):
    from ai_edge_litert.interpreter import Interpreter

    from kzoo.export.tflite_convert import convert_callable

    deltas, logits, anchors = make_inputs(1)
    specs = [tf.TensorSpec(t.shape, tf.float32) for t in (deltas, logits, anchors)]

    def decode(box_deltas, class_logits, anchor_boxes):
        return decoder([box_deltas, class_logits, anchor_boxes])

    lite = convert_callable(decode, specs, trackable=decoder)
    runner = Interpreter(model_content=lite).get_signature_runner()
    feed = {"box_deltas": deltas.numpy(), "class_logits": logits.numpy(), "anchor_boxes": anchors.numpy()}
    (lite_ms,) = alternating_median_ms([lambda: runner(**feed)], (), repeats, warmup=5)
    return {
        "path": "tflite decode+nms",
        "batch": 1,
        "anchors": int(anchors.shape[1]),
        "classes": NUM_CLASSES,
        "kzoo_ms": lite_ms,
        "tf_combined_nms_ms": float("nan"),
        "speedup": float("nan"),
        "agreement": float("nan"),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    results = run(repeats=args.repeats)
    header = (
        f"{'path':<18} {'batch':>5} {'anchors':>8} {'kzoo ms':>9} {'combined_nms ms':>16} {'speedup':>8} {'agree':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['path']:<18} {r['batch']:>5} {r['anchors']:>8} {r['kzoo_ms']:>9.2f} "
            f"{r['tf_combined_nms_ms']:>16.2f} {r['speedup']:>8.2f} {r['agreement']:>6.3f}"
        )


if __name__ == "__main__":
    main()
