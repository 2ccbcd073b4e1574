"""Shared test set-up: quiet TensorFlow, the TensorFlow Keras backend, fixed seeds."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# As in the binaries (ave_tf/bin/__init__.py): pooled CPU memory, no page faults per batch.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")


# The serving tests (gRPC and REST) share one server per implementation for the whole session.
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def serving_export():
    import export_fixtures

    return export_fixtures.shared_export()


@pytest.fixture(scope="session", params=["ave_serve", "tensorflow_model_server"])
def server(request, serving_export, tmp_path_factory):
    from serving_servers import serve

    yield from serve(request.param, serving_export, tmp_path_factory)
