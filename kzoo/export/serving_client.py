"""A client for kzoo models served by TF Serving, over REST or gRPC.

>>> client = ServingClient("localhost:8501", "classifier")             # REST
>>> client.predict(images)                 # uint8 [N, H, W, 3] -> dict of numpy arrays
>>> client.predict_bytes([jpeg_bytes])     # the serving_bytes signature
>>> grpc_client = ServingClient("localhost:8500", "classifier", protocol="grpc")

REST requests use TF Serving's JSON API, in its row ("instances") or
columnar ("inputs") format, with strings sent as ``{"b64": ...}``; gRPC
requests use ``PredictionService/Predict`` from ``tensorflow-serving-api``.
Both return the prediction dict with numpy arrays.
"""

import base64
import json
import urllib.error
import urllib.request

import numpy as np

PROTOCOLS = ("rest", "grpc")
FORMATS = ("columnar", "row")


class ServingError(RuntimeError):
    """The server refused a request; the message is the server's."""


class ServingClient:
    """Calls one model on a TF Serving server.

    Args:
        address: ``host:port`` (TF Serving's defaults: 8501 REST, 8500 gRPC).
        model: the served model's name.
        protocol: ``"rest"`` or ``"grpc"``.
        version: a model version to pin, or None for the latest.
        timeout: seconds per request.
        json_format: REST body format, ``"columnar"`` (``inputs``) or
            ``"row"`` (``instances``).
    """

    def __init__(self, address, model, protocol="rest", version=None, timeout=30.0, json_format="columnar"):
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
        if json_format not in FORMATS:
            raise ValueError(f"json_format must be one of {FORMATS}, got {json_format!r}")
        self.address = address
        self.model = model
        self.protocol = protocol
        self.version = version
        self.timeout = timeout
        self.json_format = json_format
        self._stub = None

    def predict(self, images, signature="serving_default"):
        """uint8 images [N, H, W, 3] -> prediction dict."""
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"images must be uint8 [N, H, W, 3], got {images.dtype} {images.shape}")
        return self._call(signature, "images", images)

    def predict_bytes(self, image_bytes, signature="serving_bytes"):
        """A list of JPEG/PNG byte strings -> prediction dict."""
        return self._call(signature, "image_bytes", np.array(list(image_bytes), dtype=object))

    def _call(self, signature, input_name, value):
        if self.protocol == "rest":
            return self._rest(signature, input_name, value)
        return self._grpc(signature, input_name, value)

    # REST ----------------------------------------------------------------
    def _url(self):
        version = f"/versions/{self.version}" if self.version is not None else ""
        return f"http://{self.address}/v1/models/{self.model}{version}:predict"

    def _rest(self, signature, input_name, value):
        encoded = _to_json(value)
        if self.json_format == "columnar":
            body = {"signature_name": signature, "inputs": {input_name: encoded}}
        else:
            body = {"signature_name": signature, "instances": [{input_name: row} for row in encoded]}
        request = urllib.request.Request(
            self._url(), data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                reply = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise ServingError(_error_message(error.read())) from None
        if "outputs" in reply:
            outputs = reply["outputs"]
            return {key: np.asarray(v) for key, v in outputs.items()} if isinstance(outputs, dict) else outputs
        rows = reply["predictions"]
        if rows and isinstance(rows[0], dict):
            return {key: np.asarray([row[key] for row in rows]) for key in rows[0]}
        return {"predictions": np.asarray(rows)}

    # gRPC ----------------------------------------------------------------
    def _grpc(self, signature, input_name, value):
        import grpc
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

        if self._stub is None:
            channel = grpc.insecure_channel(self.address)
            self._stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = self.model
        request.model_spec.signature_name = signature
        if self.version is not None:
            request.model_spec.version.value = int(self.version)
        request.inputs[input_name].CopyFrom(tf.make_tensor_proto(value))
        try:
            reply = self._stub.Predict(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise ServingError(error.details()) from None
        return {key: tf.make_ndarray(proto) for key, proto in reply.outputs.items()}


def _to_json(value):
    if value.dtype == object:
        return [{"b64": base64.b64encode(item).decode()} for item in value]
    return value.tolist()


def _error_message(body):
    try:
        return json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return body.decode(errors="replace") if isinstance(body, bytes) else str(body)
