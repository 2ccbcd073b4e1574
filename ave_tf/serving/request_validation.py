"""Checks Predict inputs against a SignatureDef before running the model.

Names, dtypes, ranks, fixed dimensions and empty tensors are checked here, so a bad request gets
INVALID_ARGUMENT with a message naming the input instead of an opaque TensorFlow error.
Relations between inputs (audio and visual with the same [batch, T]) are asserted inside the
exported graph itself, where any server enforces them.
"""

import numpy as np
from tensorflow.core.protobuf import meta_graph_pb2

from ave_tf.serving import tensor_codec
from ave_tf.serving.errors import invalid_argument


def _format_shape(dims: list[int]) -> str:
    return "[" + ", ".join("?" if d < 0 else str(d) for d in dims) + "]"


def validate_inputs(
    signature_name: str, signature: meta_graph_pb2.SignatureDef, inputs: dict[str, np.ndarray]
) -> None:
    """Raises RequestError(INVALID_ARGUMENT) naming the first input that does not fit."""
    expected = signature.inputs
    names = ", ".join(sorted(expected))
    for key in sorted(inputs):
        if key not in expected:
            raise invalid_argument(
                f"input '{key}' is not an input of signature '{signature_name}' (inputs: {names})"
            )
    for key in sorted(expected):
        if key not in inputs:
            raise invalid_argument(f"signature '{signature_name}' needs input '{key}' ({names})")
        info, array = expected[key], inputs[key]
        got = tensor_codec.dtype_code(array)
        if got != info.dtype:
            got_name = tensor_codec.dtype_name(got) if got is not None else str(array.dtype)
            raise invalid_argument(
                f"input '{key}' of signature '{signature_name}' must be "
                f"{tensor_codec.dtype_name(info.dtype)}, got {got_name}"
            )
        shape = list(array.shape)
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
        if array.size == 0:
            hint = " (T = 0: every video needs at least one segment)" if len(shape) > 1 else ""
            raise invalid_argument(
                f"input '{key}' of signature '{signature_name}' is empty, shape {shape}{hint}"
            )
