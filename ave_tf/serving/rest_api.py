"""TF Serving's REST API (its api_rest.md) over a ModelRegistry, independent of the transport.

  GET  /v1/models/NAME[/versions/N|/labels/L]            model status (GetModelStatusResponse)
  GET  /v1/models/NAME[/versions/N|/labels/L]/metadata   signature_def metadata
  POST /v1/models/NAME[/versions/N|/labels/L]:predict    {"instances": ...} or {"inputs": ...}
  POST /v1/models/NAME[/versions/N|/labels/L]:classify   {"examples": [...], "context": {...}}

Every failure is `{"error": "<one line>"}` with the HTTP code TF Serving maps its status to.
"""

import inspect
import json
import logging
import re
import urllib.parse

import grpc
from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2, model_pb2

from ave_tf.export import signatures as sig
from ave_tf.serving import rest_json
from ave_tf.serving.errors import RequestError, invalid_argument, not_found
from ave_tf.serving.model_registry import ModelRegistry
from ave_tf.serving.request_validation import DEFAULT_MAX_INPUT_BYTES, validate_inputs
from ave_tf.serving.servicer import SIGNATURE_DEF_FIELD, model_metadata, model_status

_ROUTE = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
    r"(?P<verb>/metadata|:predict|:classify|:regress)?$"
)
_METHOD_OF_VERB = {None: "GET", "/metadata": "GET", ":predict": "POST", ":classify": "POST",
                   ":regress": "POST"}  # fmt: skip
# tensorflow_serving/util/net_http: the HTTP code of each canonical status.
HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}
_INT64_MAX = 2**63 - 1


# protobuf 5.26 renamed the flag that prints fields left at their defaults (TF 2.17, the
# tensorflow-io stack, pins protobuf 4.x).
_PRINT_DEFAULTS = (
    "always_print_fields_with_no_presence"
    if "always_print_fields_with_no_presence"
    in inspect.signature(json_format.MessageToDict).parameters
    else "including_default_value_fields"
)


def _to_dict(message) -> dict:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, **{_PRINT_DEFAULTS: True}
    )


def _parse_json(body: bytes) -> dict:
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise invalid_argument(f"JSON Parse error: {str(e).splitlines()[0]}") from None
    except RecursionError:
        raise invalid_argument("JSON Parse error: nested too deeply") from None
    if not isinstance(value, dict):
        raise invalid_argument("the request body must be a JSON object")
    return value


class RestApi:
    """Answers (method, path, body) with (HTTP status, JSON-able dict).

    Args:
      registry: the served models.
      max_input_bytes: largest total input of a predict request once decoded.
    """

    def __init__(self, registry: ModelRegistry, max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES):
        self._registry = registry
        self._max_input_bytes = max_input_bytes

    def handle(self, method: str, path: str, body: bytes = b"") -> tuple[int, dict]:
        try:
            return 200, self._route(method, path, body)
        except RequestError as e:
            return HTTP_STATUS.get(e.code, 500), {"error": e.message}
        except RecursionError:  # lists nested deeper than any tensor's rank
            return 400, {"error": "a value is nested too deeply to be a tensor"}
        except Exception as e:  # noqa: BLE001 - the server keeps serving after any request
            logging.exception("REST %s %s failed", method, path)
            return 500, {"error": f"{type(e).__name__}: {e}".splitlines()[0]}

    def _route(self, method: str, path: str, body: bytes) -> dict:
        route = _ROUTE.match(urllib.parse.urlsplit(path).path)
        if route is None:
            raise not_found(f"Malformed request: {method} {path}")
        verb = route.group("verb")
        if method != _METHOD_OF_VERB[verb]:
            raise RequestError(
                grpc.StatusCode.UNIMPLEMENTED,
                f"{method} is not supported on {path} (use {_METHOD_OF_VERB[verb]})",
            )
        spec = self._model_spec(route)
        if verb is None:
            return _to_dict(model_status(self._registry, spec))
        if verb == "/metadata":
            response = model_metadata(self._registry, spec)
            signature_map = response.metadata[SIGNATURE_DEF_FIELD]
            defs = get_model_metadata_pb2.SignatureDefMap()
            signature_map.Unpack(defs)
            return {
                "model_spec": _to_dict(response.model_spec),
                "metadata": {SIGNATURE_DEF_FIELD: _to_dict(defs)},
            }
        if verb == ":regress":
            raise RequestError(
                grpc.StatusCode.UNIMPLEMENTED, "AVE models have no regression signature"
            )
        request = _parse_json(body)
        signature_name = request.get("signature_name") or sig.SERVING_DEFAULT
        if not isinstance(signature_name, str):
            raise invalid_argument("'signature_name' must be a string")
        model = self._registry.resolve(spec)
        if verb == ":classify":
            examples = rest_json.classify_examples(request)
            return rest_json.classify_response(model.classify(signature_name, examples))
        signature = model.signature(signature_name)
        inputs, form = rest_json.predict_inputs(request, signature_name, signature)
        validate_inputs(signature_name, signature, inputs, self._max_input_bytes)
        return rest_json.predict_response(model.predict(signature_name, inputs), form)

    @staticmethod
    def _model_spec(route: re.Match) -> model_pb2.ModelSpec:
        spec = model_pb2.ModelSpec(name=urllib.parse.unquote(route.group("name")))
        version, label = route.group("version"), route.group("label")
        if version is not None:
            if not version.isascii() or not version.isdigit() or int(version) > _INT64_MAX:
                raise invalid_argument(f"version '{version}' is not a non-negative int64")
            spec.version.value = int(version)
        elif label is not None:
            spec.version_label = urllib.parse.unquote(label)
        return spec
