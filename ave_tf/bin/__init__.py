"""Thin absl binaries (flags -> config -> library call); the console scripts of setup.py."""

import logging
import os

# TensorFlow's C++ start-up chatter (CUDA probing, CPU features) would bury the one-line errors
# and progress output of the binaries; set TF_CPP_MIN_LOG_LEVEL yourself to see it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow's default CPU allocator hands every large buffer (a batch of visual maps is
# 32-64 MB) back to the OS and page-faults it in again on the next step: 30% of a training
# run's CPU time was kernel time. The BFC pool keeps those buffers: training runs 1.5x faster
# (README, performance). Must be set before TensorFlow is imported; export
# TF_CPU_ALLOCATOR_USE_BFC=false to get the default allocator back.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
# TensorFlow's Python INFO logs (checkpoint sharding, signature renames) are noise for users.
logging.getLogger("tensorflow").setLevel(logging.WARNING)
