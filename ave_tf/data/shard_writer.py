"""Writes a dataset directory: TFRecord shards per split plus dataset.json, atomically.

Shards are written into a hidden staging folder inside the output directory and renamed into
place only when every split is complete (dataset.json last), so a crash, a full disk or an
interrupt never leaves half-written shards where readers look.
"""

import glob
import os
import shutil
import tempfile

import tensorflow as tf

from ave_tf.data import schema
from ave_tf.data.dataset_info import DatasetError, DatasetInfo, write_dataset_info

DEFAULT_SHARD_BYTES = 200 * 2**20
_STAGING_PREFIX = ".staging-"
# TFRecord framing: length (8) + length CRC (4) + data CRC (4).
_RECORD_OVERHEAD = 16


class DatasetExistsError(DatasetError):
    """The output directory already holds a dataset and overwriting was not asked for."""


def existing_dataset_files(output_dir: str) -> list[str]:
    """dataset.json and shards of a dataset already in `output_dir`."""
    files = glob.glob(os.path.join(output_dir, "*-*-of-*.tfrecord"))
    info = os.path.join(output_dir, schema.DATASET_INFO_FILE)
    if os.path.exists(info):
        files.append(info)
    return sorted(files)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_staging(output_dir: str) -> None:
    """Removes staging folders left by writers that were killed."""
    for path in glob.glob(os.path.join(output_dir, _STAGING_PREFIX + "*")):
        try:
            pid = int(os.path.basename(path)[len(_STAGING_PREFIX) :].split("-")[0])
        except ValueError:
            continue
        if not _pid_alive(pid):
            shutil.rmtree(path, ignore_errors=True)


class _SplitShards:
    """Rolls over to a new shard file once the current one reaches the target size."""

    def __init__(self, staging: str, split: str, shard_bytes: int, options):
        self.staging, self.split, self.shard_bytes, self.options = (
            staging,
            split,
            shard_bytes,
            options,
        )
        self.paths: list[str] = []
        self.records: list[int] = []  # per shard: what dataset.json's shard_records lists
        self.writer = None
        self.current_bytes = 0
        self.videos = 0
        self.segments = 0

    def write(self, serialized: bytes, num_segments: int) -> None:
        if self.writer is None or self.current_bytes >= self.shard_bytes:
            self.close()
            path = os.path.join(self.staging, f"{self.split}-{len(self.paths):05d}.part")
            self.paths.append(path)
            self.records.append(0)
            self.writer = tf.io.TFRecordWriter(path, self.options)
            self.current_bytes = 0
        self.writer.write(serialized)
        self.current_bytes += len(serialized) + _RECORD_OVERHEAD
        self.records[-1] += 1
        self.videos += 1
        self.segments += int(num_segments)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()
            self.writer = None


class DatasetWriter:
    """Context manager writing `<split>-NNNNN-of-MMMMM.tfrecord` shards and dataset.json.

    Example:
      with DatasetWriter(out, overwrite=False) as writer:
          writer.write("train", serialized, num_segments=10)
          writer.commit(info)  # info.splits is filled in by the writer
    Leaving the block without commit() (or with an exception) discards everything written.
    """

    def __init__(
        self,
        output_dir: str,
        *,
        overwrite: bool = False,
        shard_bytes: int = DEFAULT_SHARD_BYTES,
        compression: str = "",
    ):
        if compression not in ("", "GZIP"):
            raise ValueError(f"compression must be '' or 'GZIP', got {compression!r}")
        self.output_dir = output_dir
        self.overwrite = overwrite
        self.shard_bytes = shard_bytes
        self.compression = compression
        self._options = tf.io.TFRecordOptions(compression_type=compression or None)
        self._splits: dict[str, _SplitShards] = {}
        self._staging: str | None = None

    def __enter__(self) -> "DatasetWriter":
        if os.path.exists(self.output_dir) and not os.path.isdir(self.output_dir):
            raise DatasetError(f"{self.output_dir}: exists and is not a directory")
        os.makedirs(self.output_dir, exist_ok=True)
        existing = existing_dataset_files(self.output_dir)
        if existing and not self.overwrite:
            raise DatasetExistsError(
                f"{self.output_dir}: already holds a dataset ({len(existing)} files); "
                "pass --overwrite to replace it"
            )
        _remove_stale_staging(self.output_dir)
        self._staging = tempfile.mkdtemp(
            prefix=f"{_STAGING_PREFIX}{os.getpid()}-", dir=self.output_dir
        )
        return self

    def write(self, split: str, serialized: bytes, num_segments: int) -> None:
        if self._staging is None:
            raise RuntimeError("DatasetWriter.write called outside its `with` block")
        if split not in self._splits:
            self._splits[split] = _SplitShards(
                self._staging, split, self.shard_bytes, self._options
            )
        self._splits[split].write(serialized, num_segments)

    def videos_written(self, split: str) -> int:
        return self._splits[split].videos if split in self._splits else 0

    def commit(self, info: DatasetInfo) -> DatasetInfo:
        """Closes all shards, moves them into place and writes dataset.json (last)."""
        if self._staging is None:
            raise RuntimeError("DatasetWriter.commit called outside its `with` block")
        for shards in self._splits.values():
            shards.close()
        info.compression = self.compression
        info.splits = {}
        renames = []
        for split, shards in sorted(self._splits.items()):
            count = len(shards.paths)
            names = [
                schema.SHARD_PATTERN.format(split=split, index=i, count=count) for i in range(count)
            ]
            renames += [
                (p, os.path.join(self.output_dir, n))
                for p, n in zip(shards.paths, names, strict=True)
            ]
            info.splits[split] = {
                "videos": shards.videos,
                "segments": shards.segments,
                "shards": count,
                "files": names,
                # Lets shuffled readers plan record ranges without counting (shard_index).
                "shard_records": list(shards.records),
            }
        # dataset.json is written in staging first (a full disk fails here, before any swap);
        # the old dataset.json goes first and the new one last, so an interrupted swap never
        # looks like a complete dataset.
        write_dataset_info(self._staging, info)
        final_info = os.path.join(self.output_dir, schema.DATASET_INFO_FILE)
        if os.path.exists(final_info):
            os.remove(final_info)
        for path in existing_dataset_files(self.output_dir):
            os.remove(path)
        for src, dst in renames:
            os.replace(src, dst)
        os.replace(os.path.join(self._staging, schema.DATASET_INFO_FILE), final_info)
        shutil.rmtree(self._staging, ignore_errors=True)
        self._staging = None
        return info

    def abort(self) -> None:
        for shards in self._splits.values():
            try:
                shards.close()
            except Exception:  # noqa: BLE001 - the write already failed; clean up regardless
                pass
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None

    def __exit__(self, exc_type, exc, tb) -> None:
        self.abort()
