"""TF Serving warm-up records (``assets.extra/tf_serving_warmup_requests``).

TF Serving replays these PredictionLog records when it loads a version, so
the first real request does not pay for graph initialization.
"""

import os

import numpy as np
import tensorflow as tf

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


def write_warmup_requests(saved_model_dir, height, width, count=3, model_name="model"):
    """Write ``count`` serving_default requests with random uint8 images."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    path = os.path.join(saved_model_dir, WARMUP_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rng = np.random.default_rng(0)
    with tf.io.TFRecordWriter(path) as writer:
        for _ in range(count):
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name="serving_default")
            )
            image = rng.integers(0, 256, (1, height, width, 3), dtype=np.uint8)
            request.inputs["images"].CopyFrom(tf.make_tensor_proto(image))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return path
