"""A gRPC server with TF-Serving's PredictionService and ModelService over a ModelRegistry."""

from concurrent import futures

import grpc
from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

from ave_tf.serving.model_registry import ModelRegistry
from ave_tf.serving.request_validation import DEFAULT_MAX_INPUT_BYTES
from ave_tf.serving.servicer import ModelServicer, PredictionServicer

# A batch of 64 ten-second videos is ~64 MB of float32 features; leave room for twice that.
MAX_MESSAGE_BYTES = 256 << 20


def channel_options(max_message_bytes: int = MAX_MESSAGE_BYTES) -> list[tuple[str, int]]:
    """Message-size options shared by the server and the client."""
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]


# gRPC sets SO_REUSEPORT by default: a second server on a busy port would bind too and silently
# take a share of the requests. Off, its bind fails.
_EXCLUSIVE_PORT = [("grpc.so_reuseport", 0)]


class ServerStartError(RuntimeError):
    """The server could not bind its address."""


def create_server(
    registry: ModelRegistry,
    host: str = "127.0.0.1",
    port: int = 8500,
    max_workers: int = 16,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES,
) -> tuple[grpc.Server, int]:
    """Builds (not starts) the server; returns it with the bound port (`port=0` picks one)."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
        options=channel_options(max_message_bytes) + _EXCLUSIVE_PORT,
    )
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionServicer(registry, max_input_bytes), server
    )
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelServicer(registry), server)
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError as e:
        raise ServerStartError(f"cannot listen on {address}: {e}") from None
    if not bound:
        raise ServerStartError(f"cannot listen on {address} (port in use?)")
    return server, bound
