"""The TF-Serving layout of an export base: one integer-named folder per model version.

Only folders named by a non-negative integer are versions (as tensorflow_model_server sees
them); the exporter's staging folders (`.tmp-*`) and config files beside them are ignored.
`publish_version` writes a version elsewhere and renames it into place, so a server watching the
base never sees half a model.
"""

import os
import shutil
from collections.abc import Callable

import tensorflow as tf

SAVED_MODEL_FILE = "saved_model.pb"


MAX_VERSION = 2**63 - 1  # versions are int64 in TF Serving's protos


def is_version_name(name: str) -> bool:
    """A canonical non-negative int64 in ASCII digits ("7", not "07", "+7" or "٧")."""
    return name.isascii() and name.isdigit() and str(int(name)) == name and int(name) <= MAX_VERSION


def not_a_version_reason(name: str) -> str:
    """Why a folder name is not a version (for the server's warning)."""
    if name.isascii() and name.isdigit() and int(name) > MAX_VERSION:
        return "beyond the int64 range of versions"
    if name.isascii() and name.isdigit():
        return "not written canonically (leading zeros)"
    return "not a non-negative integer"


def scan_versions(base_path: str, complete_only: bool = False) -> tuple[list[int], list[str]]:
    """(version numbers ascending, names of other folders that are not hidden) under base_path.

    Args:
      complete_only: only versions holding a `saved_model.pb`.
    """
    if not tf.io.gfile.isdir(base_path):
        return [], []
    versions, ignored = [], []
    for name in tf.io.gfile.listdir(base_path):
        name = name.rstrip("/")
        path = os.path.join(base_path, name)
        if not is_version_name(name):
            if not name.startswith(".") and tf.io.gfile.isdir(path):
                ignored.append(name)
            continue
        if not tf.io.gfile.isdir(path):
            continue
        if complete_only and not tf.io.gfile.exists(os.path.join(path, SAVED_MODEL_FILE)):
            continue
        versions.append(int(name))
    return sorted(versions), sorted(ignored)


def list_versions(base_path: str, complete_only: bool = False) -> list[int]:
    """Version numbers under `base_path`, ascending (empty when it does not exist)."""
    return scan_versions(base_path, complete_only)[0]


def next_version(base_path: str) -> int:
    """One more than the newest version, 1 for an empty or missing base."""
    versions = list_versions(base_path)
    return versions[-1] + 1 if versions else 1


def version_path(base_path: str, version: int) -> str:
    return os.path.join(base_path, str(int(version)))


class VersionExistsError(FileExistsError):
    """The version folder exists and overwriting was not asked for."""


def _move_into_place(staging: str, final: str, overwrite: bool) -> None:
    previous = None
    if os.path.exists(final):
        if not overwrite:
            raise VersionExistsError(f"{final}: appeared while exporting; export again")
        previous = f"{staging}.replaced"
        os.rename(final, previous)
    try:
        os.rename(staging, final)
    except OSError:
        if previous:
            os.rename(previous, final)
        raise
    if previous:
        shutil.rmtree(previous, ignore_errors=True)


def publish_version(
    base_path: str,
    write: Callable[[str, int], None],
    version: int | None = None,
    overwrite: bool = False,
) -> str:
    """Writes a version through `write(staging_dir, version)`, then renames it into place.

    Args:
      base_path: the model's base folder (created if missing; local file system).
      write: fills the empty staging folder; any exception aborts and removes it.
      version: the version number; default: one more than the newest.
      overwrite: replace an existing version (moved aside, then deleted after the rename).

    Returns:
      The version folder.

    Raises:
      VersionExistsError: the version exists and `overwrite` is False.
    """
    if version is None:
        version = next_version(base_path)
    if version < 0:
        raise ValueError(f"version must be a non-negative integer, got {version}")
    final = version_path(base_path, version)
    if os.path.exists(final) and not overwrite:
        raise VersionExistsError(f"{final}: version {version} exists; pass --overwrite or another")
    os.makedirs(base_path, exist_ok=True)
    staging = os.path.join(base_path, f".tmp-{version}-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        os.makedirs(staging)
        write(staging, version)
        _move_into_place(staging, final, overwrite)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final
