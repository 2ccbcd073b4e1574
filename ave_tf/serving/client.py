"""A client for any TF-Serving-compatible gRPC server (tensorflow_model_server or ave_serve).

Example:

```python
from ave_tf.serving import client

outputs = client.predict("localhost:8500", {"audio": audio, "visual": visual})
events = client.event_timeline(outputs["probabilities"][0], class_names)
```
"""

import threading
import time

import grpc
import numpy as np
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from ave_tf.export import signatures as sig
from ave_tf.serving import tensor_codec
from ave_tf.serving.server import channel_options
from ave_tf.serving.timeline import event_timeline  # noqa: F401 - part of the client API

# Failures worth another try: the server is (re)starting, overloaded, or the call timed out.
RETRYABLE = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)
BACKOFF_SECONDS = 0.5


class ServingError(RuntimeError):
    """A failed call: the gRPC status code, the server address and the server's message."""

    def __init__(self, server: str, code: grpc.StatusCode, message: str, attempts: int = 1):
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        super().__init__(f"{server}: {code.name}{tries}: {message}")
        self.server = server
        self.code = code
        self.details = message


def _set_model_spec(model_spec, model_name: str, version: int | None) -> None:
    """Names the model of a request, and its version when one is asked for (else the newest)."""
    model_spec.name = model_name
    if version is not None:
        model_spec.version.value = version


class ServingClient:
    """A channel to one server and its PredictionService/ModelService stubs (thread-safe).

    Args:
      server: "host:port".
      timeout: seconds per attempt.
      retries: extra attempts after a retryable failure (UNAVAILABLE, DEADLINE_EXCEEDED,
        RESOURCE_EXHAUSTED), with exponential backoff.
    """

    def __init__(self, server: str, timeout: float = 30.0, retries: int = 2):
        self.server = server
        self.timeout = timeout
        self.retries = retries
        self._channel = grpc.insecure_channel(server, options=channel_options())
        self._predictions = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self._models = model_service_pb2_grpc.ModelServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, method, request, timeout: float | None, retries: int | None):
        timeout = self.timeout if timeout is None else timeout
        retries = self.retries if retries is None else retries
        for attempt in range(retries + 1):
            try:
                return method(request, timeout=timeout)
            except grpc.RpcError as e:
                if e.code() not in RETRYABLE or attempt == retries:
                    raise ServingError(self.server, e.code(), e.details(), attempt + 1) from None
                time.sleep(BACKOFF_SECONDS * 2**attempt)
        raise AssertionError("unreachable")

    def predict_request(
        self,
        inputs: dict[str, np.ndarray],
        model_name: str = "ave",
        signature_name: str = sig.SERVING_DEFAULT,
        version: int | None = None,
        output_filter=(),
    ) -> predict_pb2.PredictRequest:
        request = predict_pb2.PredictRequest()
        _set_model_spec(request.model_spec, model_name, version)
        request.model_spec.signature_name = signature_name
        for key, value in inputs.items():
            tensor_codec.fill_tensor_proto(request.inputs[key], value)
        request.output_filter.extend(output_filter)
        return request

    def predict(
        self,
        inputs: dict[str, np.ndarray],
        model_name: str = "ave",
        signature_name: str = sig.SERVING_DEFAULT,
        version: int | None = None,
        output_filter=(),
        timeout: float | None = None,
        retries: int | None = None,
    ) -> dict[str, np.ndarray]:
        """Predict: numpy inputs by name -> numpy outputs by name."""
        response = self.predict_response(
            self.predict_request(inputs, model_name, signature_name, version, output_filter),
            timeout,
            retries,
        )
        return {key: tensor_codec.to_ndarray(value) for key, value in response.outputs.items()}

    def predict_response(
        self, request, timeout: float | None = None, retries: int | None = None
    ) -> predict_pb2.PredictResponse:
        """Predict with a ready request; the raw response (outputs and model_spec)."""
        return self._call(self._predictions.Predict, request, timeout, retries)

    def classify(self, request, timeout: float | None = None, retries: int | None = None):
        return self._call(self._predictions.Classify, request, timeout, retries)

    def model_metadata(
        self, model_name: str = "ave", version: int | None = None, timeout: float | None = None
    ) -> get_model_metadata_pb2.GetModelMetadataResponse:
        request = get_model_metadata_pb2.GetModelMetadataRequest()
        _set_model_spec(request.model_spec, model_name, version)
        request.metadata_field.append("signature_def")
        return self._call(self._predictions.GetModelMetadata, request, timeout, None)

    def signature_defs(self, model_name: str = "ave", version: int | None = None) -> dict:
        """Signature key -> SignatureDef, from GetModelMetadata."""
        response = self.model_metadata(model_name, version)
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signature_map)
        return dict(signature_map.signature_def)

    def model_status(
        self, model_name: str = "ave", version: int | None = None, timeout: float | None = None
    ) -> get_model_status_pb2.GetModelStatusResponse:
        request = get_model_status_pb2.GetModelStatusRequest()
        _set_model_spec(request.model_spec, model_name, version)
        return self._call(self._models.GetModelStatus, request, timeout, None)


_clients: dict[tuple, ServingClient] = {}
_clients_lock = threading.Lock()


def get_client(server: str, timeout: float = 30.0, retries: int = 2) -> ServingClient:
    """A shared client per (server, timeout, retries): channels are costly to open."""
    key = (server, timeout, retries)
    with _clients_lock:
        if key not in _clients:
            _clients[key] = ServingClient(server, timeout, retries)
        return _clients[key]


def predict(
    server: str,
    inputs: dict[str, np.ndarray],
    model_name: str = "ave",
    signature_name: str = sig.SERVING_DEFAULT,
    timeout: float = 30.0,
    retries: int = 2,
    version: int | None = None,
) -> dict[str, np.ndarray]:
    """Sends one Predict request; numpy inputs by name -> numpy outputs by name.

    Raises:
      ServingError: the server refused the request or stayed unreachable after `retries`.
    """
    return get_client(server, timeout, retries).predict(inputs, model_name, signature_name, version)


def predict_serialized(
    server: str,
    records: list[bytes],
    model_name: str = "ave",
    signature_name: str = sig.PARSE_AND_PREDICT,
    timeout: float = 30.0,
    retries: int = 2,
    version: int | None = None,
) -> dict[str, np.ndarray]:
    """Posts serialized SequenceExample records as is (the `parse_and_predict` signature)."""
    serialized = np.empty(len(records), dtype=object)
    serialized[:] = [bytes(r) for r in records]
    return predict(
        server, {sig.SERIALIZED: serialized}, model_name, signature_name, timeout, retries, version
    )
