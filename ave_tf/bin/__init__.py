"""Thin absl binaries (flags -> config -> library call); the console scripts of setup.py."""

import logging
import os

# TensorFlow's C++ start-up chatter (CUDA probing, CPU features) would bury the one-line errors
# and progress output of the binaries; set TF_CPP_MIN_LOG_LEVEL yourself to see it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow's Python INFO logs (checkpoint sharding, signature renames) are noise for users.
logging.getLogger("tensorflow").setLevel(logging.WARNING)
