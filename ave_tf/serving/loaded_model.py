"""One version of a SavedModel in memory: its SignatureDefs and how to run them.

Only TensorFlow is needed to run an exported AVE model: the server never rebuilds Keras models.
"""

import numpy as np
import tensorflow as tf
from tensorflow.python.framework import ops  # the gradient registry a load fills
from tensorflow_serving.apis import input_pb2

from ave_tf.export import graph_check, warmup
from ave_tf.export import signatures as sig
from ave_tf.serving import tensor_codec
from ave_tf.serving.errors import from_tf_error, invalid_argument, not_found
from ave_tf.serving.request_validation import DEFAULT_MAX_INPUT_BYTES, admit_protos, validate_inputs

SERVE_TAG = "serve"
MAX_WARMUP_RECORDS = 1000  # tensorflow_model_server's limit


def serialized_examples(input_proto: input_pb2.Input) -> list[bytes]:
    """tf.Examples of a Classify `Input`, with shared context features merged into each."""
    kind = input_proto.WhichOneof("kind")
    if kind == "example_list":
        return [e.SerializeToString() for e in input_proto.example_list.examples]
    if kind == "example_list_with_context":
        with_context = input_proto.example_list_with_context
        out = []
        for example in with_context.examples:
            merged = type(example)()
            merged.CopyFrom(with_context.context)
            merged.MergeFrom(example)
            out.append(merged.SerializeToString())
        return out
    raise invalid_argument("Classify input has no examples (example_list is empty)")


def _load_saved_model(path: str):
    """tf.saved_model.load, and the names of the gradient functions the load registered.

    Loading registers the model's custom gradients in TensorFlow's global gradient registry
    under fresh names and never removes them; they keep every graph of the version alive
    (~50 MB per load of the default model). The server unregisters them when it unloads it.
    """
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    before = set(registry) if isinstance(registry, dict) else set()
    loaded = tf.saved_model.load(path, tags=[SERVE_TAG])
    added = set(registry) - before if isinstance(registry, dict) else set()
    return loaded, added


class LoadedModel:
    """A loaded SavedModel version.

    Args:
      name: the served model name.
      version: its integer version.
      path: the version directory.
    """

    def __init__(self, name: str, version: int, path: str):
        self.name = name
        self.version = version
        self.path = path
        proto = graph_check.read_saved_model_proto(path)
        meta_graphs = [m for m in proto.meta_graphs if SERVE_TAG in m.meta_info_def.tags]
        if not meta_graphs:
            raise ValueError(f"{path}: no MetaGraph tagged '{SERVE_TAG}'")
        self.signature_defs = {
            key: value
            for key, value in meta_graphs[0].signature_def.items()
            if not key.startswith("__")
        }
        self._loaded, self._gradient_names = _load_saved_model(path)
        self._functions = {key: self._loaded.signatures[key] for key in self.signature_defs}

    def release(self) -> None:
        """Lets TensorFlow free this version once no request uses it any more: drops the global
        gradient registrations its load made (requests in flight keep running)."""
        registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
        if isinstance(registry, dict):
            for name in self._gradient_names:
                registry.pop(name, None)
        self._gradient_names = set()

    def signature(self, signature_name: str):
        name = signature_name or sig.SERVING_DEFAULT
        if name not in self.signature_defs:
            raise not_found(
                f"signature '{name}' not found in model '{self.name}' version {self.version} "
                f"(signatures: {', '.join(sorted(self.signature_defs))})"
            )
        return self.signature_defs[name]

    def predict(
        self, signature_name: str, inputs: dict[str, np.ndarray], output_filter=()
    ) -> dict[str, np.ndarray]:
        """Runs a signature on numpy inputs; RequestError for bad requests or failed asserts."""
        name = signature_name or sig.SERVING_DEFAULT
        signature = self.signature(name)
        validate_inputs(name, signature, inputs)
        wanted = list(output_filter) or list(signature.outputs)
        for key in wanted:
            if key not in signature.outputs:
                raise invalid_argument(
                    f"output_filter '{key}' is not an output of signature '{name}' "
                    f"(outputs: {', '.join(sorted(signature.outputs))})"
                )
        tensors = {key: tf.constant(value) for key, value in inputs.items()}
        try:
            results = self._functions[name](**tensors)
        except tf.errors.OpError as e:
            raise from_tf_error(e) from None
        return {key: results[key].numpy() for key in wanted}

    def predict_protos(
        self,
        signature_name: str,
        protos,
        output_filter=(),
        max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES,
    ) -> dict[str, np.ndarray]:
        """`predict` on a request's TensorProtos, admitted (names, dtypes, shapes, size, value
        counts) before any of them is turned into an array."""
        name = signature_name or sig.SERVING_DEFAULT
        admit_protos(name, self.signature(name), protos, max_input_bytes)
        inputs = {key: tensor_codec.to_ndarray(proto) for key, proto in protos.items()}
        return self.predict(name, inputs, output_filter)

    def classify(self, signature_name: str, examples: list[bytes]) -> dict[str, np.ndarray]:
        """Runs a classification signature on serialized tf.Examples: `classes`, `scores`."""
        name = signature_name or sig.SERVING_DEFAULT
        signature = self.signature(name)
        if signature.method_name != sig.CLASSIFY_METHOD:
            raise invalid_argument(
                f"Expected classification signature method_name to be {sig.CLASSIFY_METHOD}. "
                f"Was: {signature.method_name} (signature '{name}'; use '{sig.CLASSIFY}')"
            )
        if not examples:
            raise invalid_argument("Classify input has no examples (example_list is empty)")
        (input_key,) = signature.inputs
        array = np.empty(len(examples), dtype=object)
        array[:] = examples
        return self.predict(name, {input_key: array})

    def warm_up(self) -> int:
        """Replays the SavedModel's warm-up requests; returns how many ran."""
        count = 0
        for log in warmup.read_warmup_logs(self.path)[:MAX_WARMUP_RECORDS]:
            kind = log.WhichOneof("log_type")
            if kind == "predict_log":
                request = log.predict_log.request
                self.predict_protos(request.model_spec.signature_name, request.inputs)
            elif kind == "classify_log":
                request = log.classify_log.request
                self.classify(request.model_spec.signature_name, serialized_examples(request.input))
            else:
                continue
            count += 1
        return count
