"""Shared test set-up: quiet TensorFlow, the TensorFlow Keras backend, fixed seeds."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# As in the binaries (ave_tf/bin/__init__.py): pooled CPU memory, no page faults per batch.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
