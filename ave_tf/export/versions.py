"""The TF-Serving layout of an export base: one integer-named folder per model version.

Only folders named by a non-negative integer are versions (as tensorflow_model_server sees
them); the exporter's staging folders (`.tmp-*`) and config files beside them are ignored.
"""

import os

import tensorflow as tf

SAVED_MODEL_FILE = "saved_model.pb"


def is_version_name(name: str) -> bool:
    return name.isdigit() and str(int(name)) == name


def list_versions(base_path: str, complete_only: bool = False) -> list[int]:
    """Version numbers under `base_path`, ascending (empty when it does not exist).

    Args:
      complete_only: only versions holding a `saved_model.pb`.
    """
    if not tf.io.gfile.isdir(base_path):
        return []
    versions = []
    for name in tf.io.gfile.listdir(base_path):
        name = name.rstrip("/")
        if not is_version_name(name):
            continue
        path = os.path.join(base_path, name)
        if not tf.io.gfile.isdir(path):
            continue
        if complete_only and not tf.io.gfile.exists(os.path.join(path, SAVED_MODEL_FILE)):
            continue
        versions.append(int(name))
    return sorted(versions)


def next_version(base_path: str) -> int:
    """One more than the newest version, 1 for an empty or missing base."""
    versions = list_versions(base_path)
    return versions[-1] + 1 if versions else 1


def version_path(base_path: str, version: int) -> str:
    return os.path.join(base_path, str(int(version)))
