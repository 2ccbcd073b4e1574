"""Finds ops in a SavedModel that cannot run on a CPU-only machine.

A Keras LSTM traced on a GPU with `use_cudnn="auto"` becomes a CudnnRNN op, which has no CPU
kernel: such a SavedModel loads anywhere but fails at the first request on a CPU server. The
exporter rebuilds models with `use_cudnn=False` and refuses a graph this check flags.
"""

import dataclasses
import os

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import kernels

# Flagged even where a CPU kernel happens to be registered (they select the cuDNN path).
GPU_ONLY_OPS = frozenset(
    {
        "CudnnRNN",
        "CudnnRNNV2",
        "CudnnRNNV3",
        "CudnnRNNBackprop",
        "CudnnRNNBackpropV2",
        "CudnnRNNBackpropV3",
        "CudnnRNNCanonicalToParams",
        "CudnnRNNCanonicalToParamsV2",
        "CudnnRNNParamsSize",
        "CudnnRNNParamsToCanonical",
        "CudnnRNNParamsToCanonicalV2",
    }
)


# A "DEFAULT" kernel runs on any device (NoOp, Assert, ...).
_CPU_DEVICE_TYPES = ("CPU", "DEFAULT")


@dataclasses.dataclass(frozen=True)
class ForbiddenOp:
    """An op a CPU-only server cannot run, and where it sits in the SavedModel."""

    op: str
    node: str
    function: str  # "" for the top-level graph

    def __str__(self) -> str:
        where = f"function {self.function}" if self.function else "the main graph"
        return f"{self.op} (node {self.node} in {where})"


def read_saved_model_proto(saved_model_dir: str) -> saved_model_pb2.SavedModel:
    """Parses `saved_model.pb` (binary) of a SavedModel directory."""
    path = os.path.join(saved_model_dir, "saved_model.pb")
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{path}: not found (not a SavedModel directory)")
    proto = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(path, "rb") as f:
        proto.ParseFromString(f.read())
    return proto


def _has_cpu_kernel(op: str, cache: dict[str, bool]) -> bool:
    if op not in cache:
        registered = kernels.get_registered_kernels_for_op(op).kernel
        cache[op] = any(kernel.device_type in _CPU_DEVICE_TYPES for kernel in registered)
    return cache[op]


def find_cpu_incompatible_ops(saved_model_dir: str) -> list[ForbiddenOp]:
    """Every node (graph and function library) that is GPU-only or has no CPU kernel."""
    proto = read_saved_model_proto(saved_model_dir)
    found, cache = [], {}
    for meta_graph in proto.meta_graphs:
        graph = meta_graph.graph_def
        function_names = {f.signature.name for f in graph.library.function}
        bodies = [("", graph.node)] + [
            (f.signature.name, f.node_def) for f in graph.library.function
        ]
        for function, nodes in bodies:
            for node in nodes:
                if node.op in function_names:  # a direct call of a library function
                    continue
                if node.op in GPU_ONLY_OPS or not _has_cpu_kernel(node.op, cache):
                    found.append(ForbiddenOp(node.op, node.name, function))
    return found
