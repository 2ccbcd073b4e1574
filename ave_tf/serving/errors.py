"""Request errors with their gRPC status, and readable messages from TensorFlow errors."""

import grpc
import tensorflow as tf

from ave_tf.utils.errors import tf_error_message  # noqa: F401 - re-exported for callers

# Canonical error codes are shared by TensorFlow and gRPC (tensorflow/core/protobuf/error_codes).
_GRPC_CODE = {code.value[0]: code for code in grpc.StatusCode}


class RequestError(Exception):
    """A request the server refuses, with the gRPC status code to answer it with."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def invalid_argument(message: str) -> RequestError:
    return RequestError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> RequestError:
    return RequestError(grpc.StatusCode.NOT_FOUND, message)


def from_tf_error(error: tf.errors.OpError) -> RequestError:
    """A RequestError carrying the TensorFlow error's code (INVALID_ARGUMENT for bad inputs)."""
    code = _GRPC_CODE.get(error.error_code, grpc.StatusCode.INTERNAL)
    return RequestError(code, tf_error_message(error))
