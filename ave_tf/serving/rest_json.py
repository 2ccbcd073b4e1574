"""TF Serving's REST JSON formats <-> numpy, following its documented rules (api_rest.md).

Predict bodies come in the row format (`"instances"`: one entry per batch row, objects keyed by
input name when the signature has several inputs) or the columnar format (`"inputs"`: whole
tensors, keyed by name unless there is one input). Binary strings travel as `{"b64": "..."}`.
Answers mirror the request: `"predictions"` (rows) or `"outputs"` (columns); a single output
drops its name. Classify bodies are tf.Example features as JSON (`"examples"`, `"context"`).
"""

import base64
import binascii

import numpy as np
from tensorflow.core.example import example_pb2, feature_pb2
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import meta_graph_pb2

from ave_tf.export import signatures as sig
from ave_tf.serving import tensor_codec
from ave_tf.serving.errors import invalid_argument


def _decode_bytes(value, where: str):
    """JSON strings and {"b64": ...} objects of a string tensor, as bytes (nested lists kept)."""
    if isinstance(value, list):
        return [_decode_bytes(v, where) for v in value]
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except binascii.Error:
            raise invalid_argument(f"{where}: 'b64' value is not valid base64") from None
    raise invalid_argument(f'{where}: a string tensor holds strings or {{"b64": ...}} objects')


def _nested_shape(value) -> list[int]:
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return shape


def _string_array(value, where: str) -> np.ndarray:
    decoded = _decode_bytes(value, where)
    shape = _nested_shape(decoded)
    flat: list = []

    def collect(v, depth):
        if depth == len(shape):
            if isinstance(v, list):
                raise invalid_argument(f"{where}: ragged nested lists (shape {shape} expected)")
            flat.append(v)
            return
        if not isinstance(v, list) or len(v) != shape[depth]:
            raise invalid_argument(f"{where}: ragged nested lists (shape {shape} expected)")
        for item in v:
            collect(item, depth + 1)

    collect(decoded, 0)
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(shape)


def to_array(value, dtype_code: int, where: str) -> np.ndarray:
    """A JSON value as an array of the signature's dtype; INVALID_ARGUMENT naming `where`."""
    if dtype_code == types_pb2.DT_STRING:
        return _string_array(value, where)
    dtype = tensor_codec.numpy_dtype(dtype_code)
    if dtype is None:
        raise invalid_argument(f"{where}: dtype {tensor_codec.dtype_name(dtype_code)} unsupported")
    if dtype.kind in "iu" and _holds_fraction(value):
        raise invalid_argument(f"{where}: {dtype.name} tensor given a non-integer number")
    try:
        return np.array(value, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as e:
        reason = str(e).splitlines()[0]
        raise invalid_argument(
            f"{where}: not a rectangular {dtype.name} tensor ({reason})"
        ) from None


def _holds_fraction(value) -> bool:
    if isinstance(value, list):
        return any(_holds_fraction(v) for v in value)
    return isinstance(value, float)


def _is_named(value, names) -> bool:
    """An object keyed by input names (not a {"b64": ...} value)."""
    return isinstance(value, dict) and not (set(value) == {"b64"} and "b64" not in names)


def predict_inputs(
    body: dict, signature_name: str, signature: meta_graph_pb2.SignatureDef
) -> tuple[dict[str, np.ndarray], str]:
    """The input arrays of a predict body and its format ("row" or "columnar")."""
    specs = signature.inputs
    names = sorted(specs)
    if ("instances" in body) == ("inputs" in body):
        raise invalid_argument(
            "a predict body needs exactly one of 'instances' (row format) and 'inputs' (columnar)"
        )
    if "inputs" in body:
        value = body["inputs"]
        if _is_named(value, names):
            return {k: to_array(v, _dtype(specs, k), f"inputs['{k}']") for k, v in value.items()
                    if _known(k, specs, signature_name)}, "columnar"  # fmt: skip
        if len(names) != 1:
            raise invalid_argument(
                f"signature '{signature_name}' has inputs {names}: 'inputs' must name them"
            )
        return {names[0]: to_array(value, _dtype(specs, names[0]), "inputs")}, "columnar"
    instances = body["instances"]
    if not isinstance(instances, list) or not instances:
        raise invalid_argument("'instances' must be a non-empty list (one entry per batch row)")
    if not all(_is_named(row, names) for row in instances):
        if any(isinstance(row, dict) and _is_named(row, names) for row in instances):
            raise invalid_argument("'instances' mixes named objects and bare values")
        if len(names) != 1:
            raise invalid_argument(
                f"signature '{signature_name}' has inputs {names}: each instance must be an "
                "object naming them"
            )
        return {names[0]: to_array(instances, _dtype(specs, names[0]), "instances")}, "row"
    columns: dict[str, list] = {}
    for index, row in enumerate(instances):
        if set(row) != set(names):
            raise invalid_argument(
                f"instances[{index}] has keys {sorted(row)}; signature '{signature_name}' "
                f"needs {names}"
            )
        for key, value in row.items():
            columns.setdefault(key, []).append(value)
    return {k: to_array(v, _dtype(specs, k), f"instances[*]['{k}']") for k, v in columns.items()}, (
        "row"
    )


def _known(key: str, specs, signature_name: str) -> bool:
    if key not in specs:
        raise invalid_argument(
            f"input '{key}' is not an input of signature '{signature_name}' "
            f"(inputs: {', '.join(sorted(specs))})"
        )
    return True


def _dtype(specs, key: str) -> int:
    return specs[key].dtype


def _json_value(array: np.ndarray, name: str):
    """An output array as JSON: numbers as numbers, strings as text (or b64 when binary or when
    the output's name ends in `_bytes`, TF Serving's convention)."""
    if array.dtype.kind not in "OSU":
        return array.tolist()
    flat = []
    for item in array.ravel():
        data = item if isinstance(item, bytes) else str(item).encode("utf-8")
        text = None
        if not name.endswith("_bytes"):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                pass
        flat.append(text if text is not None else {"b64": base64.b64encode(data).decode("ascii")})
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(array.shape).tolist()


def predict_response(outputs: dict[str, np.ndarray], form: str) -> dict:
    """{"predictions": ...} for row requests, {"outputs": ...} for columnar ones."""
    if form == "columnar":
        if len(outputs) == 1:
            ((name, value),) = outputs.items()
            return {"outputs": _json_value(value, name)}
        return {"outputs": {k: _json_value(v, k) for k, v in outputs.items()}}
    batch = {int(v.shape[0]) if v.ndim else -1 for v in outputs.values()}
    if len(batch) != 1 or -1 in batch:
        raise invalid_argument(
            "the outputs do not share a batch dimension, so they cannot be returned as rows: "
            "use the columnar format ('inputs') or an output filter"
        )
    if len(outputs) == 1:
        ((name, value),) = outputs.items()
        return {"predictions": _json_value(value, name)}
    columns = {k: _json_value(v, k) for k, v in outputs.items()}
    rows = batch.pop()
    return {"predictions": [{k: columns[k][i] for k in columns} for i in range(rows)]}


def _feature(value, where: str) -> feature_pb2.Feature:
    values = value if isinstance(value, list) else [value]
    if not values:
        return feature_pb2.Feature(float_list=feature_pb2.FloatList())
    if all(isinstance(v, (str, dict)) for v in values):
        return feature_pb2.Feature(
            bytes_list=feature_pb2.BytesList(value=[_decode_bytes(v, where) for v in values])
        )
    if any(isinstance(v, (bool, list, dict, str)) or v is None for v in values):
        raise invalid_argument(f"{where}: a feature is a list of numbers or of strings")
    if all(isinstance(v, int) for v in values):
        if any(not -(2**63) <= v < 2**63 for v in values):
            raise invalid_argument(f"{where}: integer out of int64 range")
        return feature_pb2.Feature(int64_list=feature_pb2.Int64List(value=values))
    return feature_pb2.Feature(float_list=feature_pb2.FloatList(value=values))


def classify_examples(body: dict) -> list[bytes]:
    """Serialized tf.Examples of a classify body (`examples` plus shared `context` features)."""
    examples = body.get("examples")
    if not isinstance(examples, list) or not examples:
        raise invalid_argument("a classify body needs 'examples': a non-empty list of objects")
    context = body.get("context", {})
    if not isinstance(context, dict):
        raise invalid_argument("'context' must be an object of features")
    out = []
    for index, example in enumerate(examples):
        if not isinstance(example, dict):
            raise invalid_argument(f"examples[{index}] must be an object of features")
        clash = sorted(set(example) & set(context))
        if clash:
            raise invalid_argument(f"examples[{index}] repeats context features {clash}")
        proto = example_pb2.Example()
        for key, value in {**context, **example}.items():
            proto.features.feature[key].CopyFrom(_feature(value, f"examples[{index}]['{key}']"))
        out.append(proto.SerializeToString())
    return out


def classify_response(outputs: dict[str, np.ndarray]) -> dict:
    """{"result": [[[label, score], ...] per example]} as TF Serving answers classify."""
    labels = outputs.get(sig.CLASSES)
    scores = outputs.get(sig.SCORES)
    rows = len(labels) if labels is not None else len(scores)
    result = []
    for row in range(rows):
        columns = len(labels[row]) if labels is not None else len(scores[row])
        pairs = []
        for column in range(columns):
            label = labels[row][column] if labels is not None else b""
            label = label.decode("utf-8", "replace") if isinstance(label, bytes) else str(label)
            score = float(scores[row][column]) if scores is not None else None
            pairs.append([label, score] if scores is not None else [label])
        result.append(pairs)
    return {"result": result}
