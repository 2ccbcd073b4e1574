"""Request errors with their gRPC status, and readable messages from TensorFlow errors."""

import re

import grpc
import tensorflow as tf

# "assertion failed: [<message>] [Condition x == y did not hold ...] ..."
_ASSERTION = re.compile(r"assertion failed: \[(.*?)\](?: \[|$)", re.MULTILINE)
# Canonical error codes are shared by TensorFlow and gRPC (tensorflow/core/protobuf/error_codes).
_GRPC_CODE = {code.value[0]: code for code in grpc.StatusCode}
_SKIPPED_LINES = ("Graph execution error", "Detected at node", "<stack traces unavailable>")


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


def tf_error_message(error: tf.errors.OpError) -> str:
    """The useful line of a TensorFlow runtime error (an assertion's own message if any)."""
    text = error.message or str(error)
    match = _ASSERTION.search(text)
    if match:  # tf.debugging.assert_* appends ".  " to the message
        return match.group(1).strip().rstrip(".")
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(_SKIPPED_LINES):
            return line[:500]
    return type(error).__name__


def from_tf_error(error: tf.errors.OpError) -> RequestError:
    """A RequestError carrying the TensorFlow error's code (INVALID_ARGUMENT for bad inputs)."""
    code = _GRPC_CODE.get(error.error_code, grpc.StatusCode.INTERNAL)
    return RequestError(code, tf_error_message(error))
