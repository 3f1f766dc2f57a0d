"""TF Serving warm-up records (``assets.extra/tf_serving_warmup_requests``).

TF Serving replays these PredictionLog records when it loads a version, so
the first real request does not pay for graph initialization.
"""

import os

import numpy as np
import tensorflow as tf

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


def probe_size(height, width, max_pixels):
    """The model's input size, shrunk (same aspect, at least 1 x 1) until it fits ``max_pixels``: the largest
    probe and warm-up image an export that refuses bigger requests accepts."""
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be a positive number of pixels, got {max_pixels}")
    if height * width <= max_pixels:
        return height, width
    scale = (max_pixels / (height * width)) ** 0.5
    return max(1, int(height * scale)), max(1, int(width * scale))


def probe_inputs(height, width, num_proposals=None, count=1, seed=0):
    """Random uint8 images (and, for models with external proposals, random boxes) for checks and warm-up."""
    rng = np.random.default_rng(seed)
    inputs = {"images": rng.integers(0, 256, (count, height, width, 3), dtype=np.uint8)}
    if num_proposals is not None:
        corners = np.sort(rng.uniform(0.0, 1.0, (count, num_proposals, 2, 2)), axis=2)
        inputs["proposals"] = corners.reshape(count, num_proposals, 4).astype(np.float32)
    return inputs


def write_warmup_requests(saved_model_dir, height, width, count=3, model_name="model", num_proposals=None):
    """Write ``count`` serving_default requests with random uint8 images (and proposals, if the model takes them)."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    path = os.path.join(saved_model_dir, WARMUP_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for seed in range(count):
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name="serving_default")
            )
            for key, value in probe_inputs(height, width, num_proposals, seed=seed).items():
                request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return path
