"""Record counts of TFRecord shards, and their split into ranges read in random order.

A shuffled training pass reads each shard as short ranges of consecutive records, the ranges in
a fresh seeded order every epoch (see `pipeline.records_dataset`). Whatever order a writer used
(class-sorted like the AVE release, one class per shard, one big shard), consecutive records of
the stream then come from unrelated parts of the split, and a small shuffle buffer finishes the
mixing. A range is read with `TFRecordDataset(...).skip(start).take(count)`: TFRecordDataset
skips a record by reading its 12-byte header and seeking past it, so no data is read twice, and
every record read is still CRC-checked.

Counting needs no data either: `count_records` walks the headers (length + its CRC) with seeks.
Writers record the counts in dataset.json (`splits[...]["shard_records"]`); datasets from older
writers are counted here, once per process.
"""

import dataclasses
import struct

import tensorflow as tf

# TFRecord framing: uint64 length, uint32 masked CRC of the length, data, uint32 CRC of the data.
_HEADER_BYTES = 12
_FOOTER_BYTES = 4


@dataclasses.dataclass(frozen=True)
class ShardCount:
    """Records in one shard; `error` says where a truncated shard breaks off."""

    path: str
    records: int
    error: str | None = None


def count_records(path: str) -> ShardCount:
    """Counts the complete records of an uncompressed TFRecord file from its headers."""
    size = tf.io.gfile.stat(path).length
    records, position = 0, 0
    with tf.io.gfile.GFile(path, "rb") as f:
        while position < size:
            f.seek(position)
            header = f.read(_HEADER_BYTES)
            if len(header) < _HEADER_BYTES:
                return ShardCount(path, records, f"truncated header at byte {position}")
            (length,) = struct.unpack("<Q", header[:8])
            end = position + _HEADER_BYTES + length + _FOOTER_BYTES
            if end > size:
                return ShardCount(
                    path,
                    records,
                    f"record {records} at byte {position} declares {length} bytes, "
                    f"past the end of the file ({size} bytes)",
                )
            records, position = records + 1, end
    return ShardCount(path, records)


def count_compressed_records(path: str, compression: str) -> ShardCount:
    """Counts a compressed shard's records by reading it (its headers are compressed too)."""
    records = 0
    try:
        for _ in tf.data.TFRecordDataset(path, compression_type=compression):
            records += 1
    except tf.errors.DataLossError as e:
        return ShardCount(path, records, e.message.splitlines()[0])
    return ShardCount(path, records)


def shard_record_counts(
    files: list[str], recorded: list | None = None, compression: str = ""
) -> list[ShardCount]:
    """Per shard, its record count: from dataset.json when recorded there, else counted."""
    if recorded is not None and len(recorded) == len(files):
        return [ShardCount(path, int(n)) for path, n in zip(files, recorded, strict=True)]
    if compression:
        return [count_compressed_records(path, compression) for path in files]
    return [count_records(path) for path in files]


def record_ranges(counts: list[ShardCount], range_records: int) -> tuple[list, list, list]:
    """(paths, starts, counts) of ranges of at most `range_records` records covering every shard.

    range_records <= 0 gives one range per shard (a plain stream of each shard).
    """
    paths, starts, sizes = [], [], []
    for shard in counts:
        step = range_records if range_records > 0 else max(shard.records, 1)
        for start in range(0, shard.records, step):
            paths.append(shard.path)
            starts.append(start)
            sizes.append(min(step, shard.records - start))
    return paths, starts, sizes
