"""TF-Serving's PredictionService and ModelService on the real tensorflow-serving-api protos.

Implemented: Predict, Classify (signatures whose method is tensorflow/serving/classify),
GetModelMetadata (signature_def) and GetModelStatus. Regress, MultiInference and
HandleReloadConfigRequest answer UNIMPLEMENTED. Every failure becomes a gRPC status with a
message; no request can take the server down.
"""

import functools
import logging

import grpc
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from ave_tf.export import signatures as sig
from ave_tf.serving import tensor_codec
from ave_tf.serving.errors import RequestError, invalid_argument
from ave_tf.serving.loaded_model import serialized_examples
from ave_tf.serving.model_registry import ModelRegistry
from ave_tf.serving.request_validation import DEFAULT_MAX_INPUT_BYTES

SIGNATURE_DEF_FIELD = "signature_def"
_STATES = {
    "AVAILABLE": get_model_status_pb2.ModelVersionStatus.AVAILABLE,
    "END": get_model_status_pb2.ModelVersionStatus.END,
}


def _answer_errors(method):
    """Turns RequestError (and anything unexpected) into a gRPC status instead of a crash."""

    @functools.wraps(method)
    def wrapper(self, request, context):
        try:
            return method(self, request, context)
        except RequestError as e:
            context.abort(e.code, e.message)
        except tensor_codec.TensorCodecError as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        except Exception as e:  # noqa: BLE001 - the server keeps serving after any request
            logging.exception("%s failed", method.__name__)
            context.abort(grpc.StatusCode.INTERNAL, f"{type(e).__name__}: {e}".splitlines()[0])

    return wrapper


def _fill_model_spec(spec, model, signature_name: str | None) -> None:
    spec.name = model.name
    spec.version.value = model.version
    if signature_name is not None:
        spec.signature_name = signature_name


def _admit_examples(input_proto, max_bytes: int) -> None:
    """Classify's examples become one bytes object each: bound what decoding them costs."""
    kind = input_proto.WhichOneof("kind")
    examples = getattr(input_proto, kind).examples if kind else ()
    cost = len(examples) * tensor_codec.STRING_OVERHEAD_BYTES + input_proto.ByteSize()
    if cost > max_bytes:
        raise invalid_argument(
            f"Classify request of {len(examples)} examples would take {cost} bytes, over the "
            f"server's limit of {max_bytes} (ave_serve --max_input_mb)"
        )


def model_metadata(registry: ModelRegistry, model_spec):
    """GetModelMetadataResponse (signature_def) of the version a ModelSpec names."""
    model = registry.resolve(model_spec)
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    for key, value in model.signature_defs.items():
        signature_map.signature_def[key].CopyFrom(value)
    response = get_model_metadata_pb2.GetModelMetadataResponse()
    _fill_model_spec(response.model_spec, model, None)
    response.metadata[SIGNATURE_DEF_FIELD].Pack(signature_map)
    return response


def model_status(registry: ModelRegistry, spec):
    """GetModelStatusResponse: every version of spec.name, or the one its version/label names."""
    version = spec.version.value if spec.HasField("version") else None
    if spec.version_label:
        version = registry.resolve(spec).version
    response = get_model_status_pb2.GetModelStatusResponse()
    for status in registry.status(spec.name, version):
        entry = response.model_version_status.add()
        entry.version = status.version
        entry.state = _STATES[status.state]
        entry.status.SetInParent()  # present with error_code OK, as TF Serving answers
        if status.error:
            entry.status.error_code = grpc.StatusCode.UNKNOWN.value[0]
            entry.status.error_message = status.error
    return response


class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Predict, Classify and GetModelMetadata over a ModelRegistry."""

    def __init__(self, registry: ModelRegistry, max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES):
        self._registry = registry
        self._max_input_bytes = max_input_bytes

    @_answer_errors
    def Predict(self, request, context):
        model = self._registry.resolve(request.model_spec)
        signature_name = request.model_spec.signature_name or sig.SERVING_DEFAULT
        outputs = model.predict_protos(
            signature_name, request.inputs, request.output_filter, self._max_input_bytes
        )
        response = predict_pb2.PredictResponse()
        _fill_model_spec(response.model_spec, model, signature_name)
        for key, value in outputs.items():
            tensor_codec.fill_tensor_proto(response.outputs[key], value)
        return response

    @_answer_errors
    def Classify(self, request, context):
        model = self._registry.resolve(request.model_spec)
        signature_name = request.model_spec.signature_name or sig.SERVING_DEFAULT
        _admit_examples(request.input, self._max_input_bytes)
        outputs = model.classify(signature_name, serialized_examples(request.input))
        response = classification_pb2.ClassificationResponse()
        _fill_model_spec(response.model_spec, model, signature_name)
        labels = outputs.get(sig.CLASSES)
        scores = outputs.get(sig.SCORES)
        rows = len(labels) if labels is not None else len(scores)
        for row in range(rows):
            result = response.result.classifications.add()
            columns = len(labels[row]) if labels is not None else len(scores[row])
            for column in range(columns):
                entry = result.classes.add()
                if labels is not None:
                    entry.label = labels[row][column].decode("utf-8")
                if scores is not None:
                    entry.score = float(scores[row][column])
        return response

    @_answer_errors
    def GetModelMetadata(self, request, context):
        fields = list(request.metadata_field)
        if not fields:
            raise invalid_argument("GetModelMetadata needs metadata_field: signature_def")
        for field in fields:
            if field != SIGNATURE_DEF_FIELD:
                raise invalid_argument(f"Metadata field {field} is not supported")
        return model_metadata(self._registry, request.model_spec)

    def Regress(self, request, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "AVE models have no regression signature")

    def MultiInference(self, request, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "MultiInference is not implemented")


class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
    """GetModelStatus over a ModelRegistry."""

    def __init__(self, registry: ModelRegistry):
        self._registry = registry

    @_answer_errors
    def GetModelStatus(self, request, context):
        return model_status(self._registry, request.model_spec)

    def HandleReloadConfigRequest(self, request, context):
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED,
            "reloading the config is not supported; new versions are picked up automatically",
        )
