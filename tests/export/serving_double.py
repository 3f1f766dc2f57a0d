"""A local stand-in for TF Serving: its REST and gRPC predict APIs over versioned SavedModels.

It loads ``base_dir/<model>/<version>/`` with ``tf.saved_model.load`` and
answers ``POST /v1/models/<model>[/versions/<v>]:predict`` (row and columnar
JSON, ``{"b64": ...}`` strings) and ``PredictionService/Predict`` the way
TF Serving does, so the client can be tested without the server binary.
Both listen on 127.0.0.1 only.
"""

import base64
import http.server
import json
import os
import re
import threading
from concurrent import futures

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

_PATH = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+))?:predict$")


class ModelStore:
    def __init__(self, base_dir):
        self.base_dir = base_dir
        self._loaded = {}

    def signature(self, model, version, name):
        model_dir = os.path.join(self.base_dir, model)
        if not os.path.isdir(model_dir):
            raise LookupError(f"Servable not found for request: Latest({model})")
        if version is None:
            version = max(int(v) for v in os.listdir(model_dir) if v.isdigit())
        key = (model, int(version))
        if key not in self._loaded:
            self._loaded[key] = tf.saved_model.load(os.path.join(model_dir, str(version)))
        signatures = self._loaded[key].signatures
        if name not in signatures:
            raise LookupError(f"Serving signature name: \"{name}\" not found in signature def")
        return signatures[name]

    def run(self, model, version, signature_name, inputs):
        fn = self.signature(model, version, signature_name)
        outputs = fn(**{key: tf.constant(value) for key, value in inputs.items()})
        return {key: value.numpy() for key, value in outputs.items()}


def _from_json(value):
    if isinstance(value, dict) and "b64" in value:
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def _array(value):
    value = _from_json(value)
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        return np.array(value, dtype=object)
    return np.asarray(value, dtype=np.uint8) if not isinstance(value, bytes) else np.array([value], dtype=object)


class _Handler(http.server.BaseHTTPRequestHandler):
    store = None

    def log_message(self, *args):
        pass

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        match = _PATH.match(self.path)
        if not match:
            return self._reply(404, {"error": f"Malformed request: POST {self.path}"})
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        signature = body.get("signature_name", "serving_default")
        try:
            if "inputs" in body:
                inputs = {k: _array(v) for k, v in body["inputs"].items()}
            else:
                rows = body["instances"]
                inputs = {k: _array([row[k] for row in rows]) for k in rows[0]}
            outputs = self.store.run(match.group(1), match.group(2), signature, inputs)
        except (LookupError, tf.errors.InvalidArgumentError, ValueError, TypeError) as error:
            message = getattr(error, "message", None) or str(error)
            return self._reply(400, {"error": message})
        if "inputs" in body:
            return self._reply(200, {"outputs": {k: v.tolist() for k, v in outputs.items()}})
        count = len(next(iter(outputs.values())))
        return self._reply(200, {"predictions": [{k: v[i].tolist() for k, v in outputs.items()} for i in range(count)]})


class _Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, store):
        self.store = store

    def Predict(self, request, context):
        version = request.model_spec.version.value if request.model_spec.HasField("version") else None
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        try:
            outputs = self.store.run(request.model_spec.name, version, request.model_spec.signature_name or
                                     "serving_default", inputs)
        except LookupError as error:
            context.abort(grpc.StatusCode.NOT_FOUND, str(error))
        except (tf.errors.InvalidArgumentError, ValueError, TypeError) as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, getattr(error, "message", None) or str(error))
        response = predict_pb2.PredictResponse()
        response.model_spec.CopyFrom(request.model_spec)
        for key, value in outputs.items():
            response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
        return response


class ServingDouble:
    """Starts REST and gRPC servers on free loopback ports; use as a context manager."""

    def __init__(self, base_dir):
        self.store = ModelStore(base_dir)

    def __enter__(self):
        handler = type("Handler", (_Handler,), {"store": self.store})
        self._http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        self.rest_address = f"127.0.0.1:{self._http.server_address[1]}"
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(_Servicer(self.store), self._grpc)
        port = self._grpc.add_insecure_port("127.0.0.1:0")
        self._grpc.start()
        self.grpc_address = f"127.0.0.1:{port}"
        return self

    def __exit__(self, *exc):
        self._http.shutdown()
        self._http.server_close()
        self._grpc.stop(grace=None)
