"""Checks request inputs against a SignatureDef before anything runs or is allocated.

`admit_protos` looks only at what a request declares (names, dtypes, shapes, the byte size those
imply, whether the values present fill the shape), so a bad or oversized request is refused with
INVALID_ARGUMENT before a single tensor is materialized. `validate_inputs` applies the same rules
to numpy arrays (REST bodies, warm-up records). Relations between inputs (audio and visual with the
same [batch, T]) are asserted inside the exported graph itself, where any server enforces them.
"""

from collections.abc import Mapping

import numpy as np
from tensorflow.core.framework import tensor_pb2
from tensorflow.core.protobuf import meta_graph_pb2

from ave_tf.serving import tensor_codec
from ave_tf.serving.errors import invalid_argument

# Largest total input a request may declare (TF Serving has no such limit; its gRPC message
# limit does not bound a declared shape). 64 ten-second videos are ~64 MiB of float32.
DEFAULT_MAX_INPUT_BYTES = 256 << 20


def _format_shape(dims: list[int]) -> str:
    return "[" + ", ".join("?" if d < 0 else str(d) for d in dims) + "]"


def _check_names(signature_name: str, expected, given) -> None:
    names = ", ".join(sorted(expected))
    for key in sorted(given):
        if key not in expected:
            raise invalid_argument(
                f"input '{key}' is not an input of signature '{signature_name}' (inputs: {names})"
            )
    for key in sorted(expected):
        if key not in given:
            raise invalid_argument(f"signature '{signature_name}' needs input '{key}' ({names})")


def _check_one(signature_name: str, key: str, info, dtype_code, dtype_label: str, shape) -> None:
    if dtype_code != info.dtype:
        raise invalid_argument(
            f"input '{key}' of signature '{signature_name}' must be "
            f"{tensor_codec.dtype_name(info.dtype)}, got {dtype_label}"
        )
    shape = list(shape)
    if not info.tensor_shape.unknown_rank:
        dims = [int(d.size) for d in info.tensor_shape.dim]
        fits = len(dims) == len(shape) and all(
            want < 0 or want == size for want, size in zip(dims, shape, strict=True)
        )
        if not fits:
            raise invalid_argument(
                f"input '{key}' of signature '{signature_name}' must have shape "
                f"{_format_shape(dims)}, got {shape}"
            )
    if any(size == 0 for size in shape):
        hint = " (T = 0: every video needs at least one segment)" if len(shape) > 1 else ""
        raise invalid_argument(
            f"input '{key}' of signature '{signature_name}' is empty, shape {shape}{hint}"
        )


def _check_size(signature_name: str, sizes: dict[str, int], max_bytes: int) -> None:
    total = sum(sizes.values())
    if total > max_bytes:
        largest = max(sizes, key=sizes.get)
        raise invalid_argument(
            f"request to signature '{signature_name}' declares {total} bytes of input "
            f"('{largest}': {sizes[largest]}), over the server's limit of {max_bytes} "
            "(ave_serve --max_input_mb); send fewer videos per request"
        )


def admit_protos(
    signature_name: str,
    signature: meta_graph_pb2.SignatureDef,
    protos: Mapping[str, tensor_pb2.TensorProto],
    max_bytes: int = DEFAULT_MAX_INPUT_BYTES,
) -> None:
    """Raises RequestError(INVALID_ARGUMENT) unless the request's TensorProtos fit the signature
    and the size limit and carry exactly the values their shapes declare. Allocates nothing."""
    expected = signature.inputs
    _check_names(signature_name, expected, protos)
    sizes = {}
    for key in sorted(expected):
        proto = protos[key]
        try:
            shape = tensor_codec.proto_shape(proto)
            tensor_codec.element_count(proto)  # unknown rank, negative dimensions
        except tensor_codec.TensorCodecError as e:
            raise invalid_argument(f"input '{key}': {e}") from None
        label = tensor_codec.dtype_name(proto.dtype)
        _check_one(signature_name, key, expected[key], proto.dtype, label, shape)
        sizes[key] = tensor_codec.declared_bytes(proto)
    _check_size(signature_name, sizes, max_bytes)
    for key in sorted(expected):
        try:
            tensor_codec.check_values_match_shape(protos[key])
        except tensor_codec.TensorCodecError as e:
            raise invalid_argument(f"input '{key}': {e}") from None


def validate_inputs(
    signature_name: str,
    signature: meta_graph_pb2.SignatureDef,
    inputs: dict[str, np.ndarray],
    max_bytes: int | None = None,
) -> None:
    """Raises RequestError(INVALID_ARGUMENT) naming the first input that does not fit."""
    expected = signature.inputs
    _check_names(signature_name, expected, inputs)
    for key in sorted(expected):
        array = inputs[key]
        got = tensor_codec.dtype_code(array)
        label = tensor_codec.dtype_name(got) if got is not None else str(array.dtype)
        _check_one(signature_name, key, expected[key], got, label, array.shape)
    if max_bytes is not None:
        _check_size(signature_name, {k: int(inputs[k].nbytes) for k in expected}, max_bytes)
