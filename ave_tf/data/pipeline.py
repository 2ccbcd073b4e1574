"""tf.data input pipeline over the shards of a dataset directory.

Evaluation: shards in file order -> interleave(TFRecordDataset) -> batch -> parse -> prefetch.
Training: ranges of a few consecutive records of every shard, in a seeded random order each
epoch (`shard_index`), read `cycle_length` at a time -> [cache] -> shuffle buffer -> batch ->
parse (the one parser, vectorized over the batch) -> prefetch. Reading ranges in random order
makes the batches close to i.i.d. draws whatever order the records were written in (the AVE
release lists videos grouped by class); the shuffle buffer is sized from the split's record
count and a memory budget. Memory is bounded by that budget and the prefetch depth, never by
the dataset size.
"""

import dataclasses
import os

import tensorflow as tf
from absl import logging

from ave_tf.data import parser, schema, shard_index
from ave_tf.data.dataset_info import DatasetError, load_dataset_info
from ave_tf.utils.tfio_compat import ensure_filesystem

AUTOTUNE = tf.data.AUTOTUNE
# `cache` value: hold the parsed features in memory (float32, ~1 MB per 10-s video), so epochs
# after the first skip the parse (~2 ms of CPU per video on AVX2 cores).
PARSED = "parsed"
# Keys of `parser.parse_batch` with a time axis, and what padding holds in each.
_TIME_PADDING = {parser.AUDIO: 0.0, parser.VISUAL: 0.0, parser.LABELS: -1, parser.MASK: 0.0}
# Unbuffered range reads: a skipped record costs one 12-byte header read and a seek, where a
# read-ahead buffer would refill itself after every seek (full-size train split, ranges of 4:
# 3.0 s of CPU per epoch unbuffered, 5.9 s with 256 KiB, 9.3 s with 1 MiB).
_RANGE_READ_BUFFER = 0


@dataclasses.dataclass
class InputConfig:
    """How a split is read.

    Attributes:
      batch_size: videos per batch.
      shuffle: shuffle files and records (training); False keeps file order.
      shuffle_buffer: records held for shuffling (each ~0.5-1 MB); 0 = as many as
        `shuffle_buffer_mb` holds, at most the whole split.
      shuffle_buffer_mb: memory budget of the automatic shuffle buffer, in MiB.
      range_records: shuffled reading takes shards in ranges of this many consecutive records,
        in random order (0 = whole shards, in random order).
      seed: seeds file and record shuffling; None for nondeterministic order.
      repeat: repeat the data forever (step-based training); False = one pass.
      drop_remainder: drop the last, smaller batch.
      cache: "" no cache, "memory" caches serialized records in RAM, "parsed" leaves caching
        parsed features to the caller (`parsed_videos`), else a cache file path.
      deterministic: keep element order reproducible across runs (slightly slower).
      skip_corrupt: skip unreadable records instead of failing (the count is logged).
      cycle_length: shards (or record ranges, when shuffling) read in parallel.
    """

    batch_size: int = 32
    shuffle: bool = False
    shuffle_buffer: int = 0
    shuffle_buffer_mb: int = 256
    range_records: int = 4
    seed: int | None = None
    repeat: bool = False
    drop_remainder: bool = False
    cache: str = ""
    deterministic: bool = True
    skip_corrupt: bool = False
    cycle_length: int = 16


def split_file_pattern(data_dir: str, split: str) -> str:
    return os.path.join(data_dir, f"{split}-*-of-*.tfrecord")


def list_shards(data_dir: str, split: str) -> list[str]:
    """Shards of a split, sorted; fails loudly when the glob matches nothing."""
    ensure_filesystem(data_dir)
    pattern = split_file_pattern(data_dir, split)
    files = sorted(tf.io.gfile.glob(pattern))
    if not files:
        raise DatasetError(f"{pattern}: no shards match (split {split!r} of {data_dir})")
    return files


@dataclasses.dataclass(frozen=True)
class ShufflePlan:
    """How a shuffled split is read (logged by the trainer)."""

    records: int
    shards: int
    ranges: int
    range_records: int
    buffer_records: int
    buffer_mb: float
    shard_records: tuple  # per shard, as counted (pass back as `recorded_counts`)

    def describe(self, cached: str = "") -> str:
        """One line for the training log; `cached` names a data.cache that holds the whole
        split, which is then shuffled whole instead of through the buffer."""
        reading = (
            f"{self.ranges} ranges of <= {self.range_records} records in random order"
            if self.range_records > 0
            else f"{self.shards} whole shards in random order"
        )
        read = f"{self.records} records in {self.shards} shard(s), read as {reading}"
        if cached:
            return f"{read}; cached in memory ({cached}), shuffled whole every epoch"
        share = self.buffer_records / max(self.records, 1)
        return (
            f"{read}; shuffle buffer {self.buffer_records} records "
            f"(~{self.buffer_mb:.0f} MiB, {share:.0%} of the split)"
        )


def shuffle_buffer_records(config: InputConfig, records: int, record_bytes: float) -> int:
    """The shuffle buffer: `config.shuffle_buffer`, or what the memory budget holds."""
    if config.shuffle_buffer > 0:
        return config.shuffle_buffer
    budget = config.shuffle_buffer_mb * 2**20
    fits = int(budget // max(record_bytes, 1.0))
    # At least a batch, so a batch never waits for the buffer to refill; at most the split.
    return max(1, min(max(fits, config.batch_size), max(records, 1)))


def _shard_counts(files, config, compression, recorded):
    counts = shard_index.shard_record_counts(files, recorded, compression)
    broken = [c for c in counts if c.error]
    if broken and not config.skip_corrupt:
        names = ", ".join(f"{c.path} (after {c.records} records: {c.error})" for c in broken)
        raise DatasetError(
            f"corrupt or truncated shard(s): {names}; rerun with --skip_corrupt to skip"
        )
    for c in broken:
        logging.warning("skipping the damaged end of %s: %s", c.path, c.error)
    return counts


def records_dataset(
    files: list[str],
    config: InputConfig,
    compression: str = "",
    recorded_counts: list | None = None,
) -> tf.data.Dataset:
    """Serialized records of `files`: in file order, or shuffled by record ranges.

    Args:
      files: the shards.
      config: the reading settings.
      compression: "" or "GZIP" (compressed shards cannot be skipped into: whole shards are
        shuffled instead of ranges).
      recorded_counts: records per shard as dataset.json lists them (None: counted here).
    """
    if not files:
        raise DatasetError("no input files given")
    if not config.shuffle:
        return _stream_in_order(files, config, compression)
    counts = _shard_counts(files, config, compression, recorded_counts)
    range_records = 0 if compression else config.range_records
    paths, starts, sizes = shard_index.record_ranges(counts, range_records)
    if not paths:
        raise DatasetError(f"{files[0]}: the shards hold no records")
    ranges = tf.data.Dataset.from_tensor_slices(
        (paths, tf.constant(starts, tf.int64), tf.constant(sizes, tf.int64))
    )
    ranges = ranges.shuffle(len(paths), seed=config.seed, reshuffle_each_iteration=True)

    def read(path, start, count):
        records = tf.data.TFRecordDataset(
            path, compression_type=compression, buffer_size=_RANGE_READ_BUFFER
        )
        return records.skip(start).take(count)

    return _interleaved(ranges, read, min(config.cycle_length, len(paths)), config)


def _stream_in_order(files, config, compression) -> tf.data.Dataset:
    def read(path):
        return tf.data.TFRecordDataset(path, compression_type=compression, buffer_size=8 << 20)

    sources = tf.data.Dataset.from_tensor_slices(files)
    return _interleaved(sources, read, min(config.cycle_length, len(files), 4), config)


def _interleaved(sources, read, cycle_length, config) -> tf.data.Dataset:
    """The records of `read(*source)` for every source, `cycle_length` sources at a time."""

    def read_source(*source):
        records = read(*source)
        return records.ignore_errors(log_warning=True) if config.skip_corrupt else records

    ds = sources.interleave(
        read_source,
        cycle_length=cycle_length,
        block_length=1,
        num_parallel_calls=AUTOTUNE,
        deterministic=config.deterministic,
    )
    if config.cache and config.cache != PARSED:  # parsed features are cached after parsing
        ds = ds.cache("" if config.cache == "memory" else config.cache)
    return ds


def shuffle_plan(
    files: list[str], config: InputConfig, compression: str = "", recorded_counts=None
) -> ShufflePlan:
    """What `records_dataset` + `batched_features` will do for a shuffled split."""
    counts = _shard_counts(files, config, compression, recorded_counts)
    records = sum(c.records for c in counts)
    record_bytes = sum(tf.io.gfile.stat(f).length for f in files) / max(records, 1)
    range_records = 0 if compression else config.range_records
    ranges = len(shard_index.record_ranges(counts, range_records)[0])
    buffer = shuffle_buffer_records(config, records, record_bytes)
    return ShufflePlan(
        records=records,
        shards=len(files),
        ranges=ranges,
        range_records=range_records,
        buffer_records=buffer,
        buffer_mb=buffer * record_bytes / 2**20,
        shard_records=tuple(c.records for c in counts),
    )


_PARSE_BATCH = None


def _traced_parse_batch():
    """`parser.parse_batch` traced once per process: tracing it costs ~0.5 s, and the trainer
    builds a new pipeline every epoch."""
    global _PARSE_BATCH
    if _PARSE_BATCH is None:
        _PARSE_BATCH = tf.function(
            parser.parse_batch, input_signature=[tf.TensorSpec([None], tf.string)]
        )
    return _PARSE_BATCH


def _shuffled(ds: tf.data.Dataset, config: InputConfig, buffer_records: int | None):
    """Shuffled (with `buffer_records`, default `config.shuffle_buffer`) and repeated as asked."""
    if config.shuffle:
        buffer = buffer_records or config.shuffle_buffer
        if buffer < 1:
            raise ValueError("a shuffled pipeline needs a shuffle buffer (see shuffle_plan)")
        ds = ds.shuffle(buffer, seed=config.seed, reshuffle_each_iteration=True)
    return ds.repeat() if config.repeat else ds


def batched_features(
    records: tf.data.Dataset, config: InputConfig, buffer_records: int | None = None
) -> tf.data.Dataset:
    """Shuffles (with `buffer_records`, default `config.shuffle_buffer`), batches and parses."""
    ds = _shuffled(records, config, buffer_records)
    ds = ds.batch(config.batch_size, drop_remainder=config.drop_remainder)
    ds = ds.map(
        _traced_parse_batch(), num_parallel_calls=AUTOTUNE, deterministic=config.deterministic
    )
    options = tf.data.Options()
    options.deterministic = config.deterministic
    options.experimental_optimization.map_parallelization = True
    ds = ds.with_options(options)
    return ds.prefetch(AUTOTUNE)


def parsed_videos(records: tf.data.Dataset, parse_batch_size: int = 64) -> tf.data.Dataset:
    """One `parse_batch` dict per video, trimmed to its own segments (cache it, then batch it
    with `batched_videos`: the batches equal parsing the same records batched)."""

    def trim(features):
        length = features[parser.NUM_SEGMENTS]
        return {k: v[:length] if k in _TIME_PADDING else v for k, v in features.items()}

    ds = records.batch(parse_batch_size)
    ds = ds.map(_traced_parse_batch(), num_parallel_calls=AUTOTUNE, deterministic=True)
    return ds.unbatch().map(trim, num_parallel_calls=AUTOTUNE, deterministic=True)


def batched_videos(
    videos: tf.data.Dataset, config: InputConfig, buffer_records: int | None = None
) -> tf.data.Dataset:
    """`batched_features` for parsed videos (`parsed_videos`): shuffles, pads to the longest
    video of each batch as the parser does (labels -1, everything else 0), prefetches."""
    ds = _shuffled(videos, config, buffer_records)
    spec = ds.element_spec
    padding = {
        k: tf.constant(_TIME_PADDING.get(k, "" if s.dtype == tf.string else 0), s.dtype)
        for k, s in spec.items()
    }
    ds = ds.padded_batch(
        config.batch_size, padding_values=padding, drop_remainder=config.drop_remainder
    )
    options = tf.data.Options()
    options.deterministic = config.deterministic
    return ds.with_options(options).prefetch(AUTOTUNE)


def recorded_shard_counts(info, split: str, files: list[str]) -> list | None:
    """Records per file of `files` as dataset.json lists them; None when it does not."""
    entry = info.splits.get(split, {})
    by_name = dict(zip(entry.get("files", []), entry.get("shard_records", []), strict=False))
    names = [os.path.basename(f) for f in files]
    if not by_name or any(name not in by_name for name in names):
        return None
    return [int(by_name[name]) for name in names]


def make_dataset(data_dir: str, split: str, config: InputConfig) -> tf.data.Dataset:
    """Batches of parsed features (see `parser.parse_batch`) for one split of a dataset dir."""
    info = load_dataset_info(data_dir)
    if split not in schema.ALL_SPLITS and split not in info.splits:
        raise DatasetError(f"unknown split {split!r}; {data_dir} has {sorted(info.splits)}")
    files = list_shards(data_dir, split)
    recorded = recorded_shard_counts(info, split, files)
    buffer = None
    if config.shuffle:  # the plan counts the shards once; reading reuses its counts
        plan = shuffle_plan(files, config, info.compression, recorded)
        buffer, recorded = plan.buffer_records, list(plan.shard_records)
    records = records_dataset(files, config, info.compression, recorded)
    return batched_features(records, config, buffer)


@dataclasses.dataclass
class ShardStatus:
    path: str
    records: int  # records read before the first error (all records when readable)
    error: str | None


def scan_shards(files: list[str], compression: str = "") -> list[ShardStatus]:
    """Reads every shard once (no parsing) and reports which ones are corrupt or truncated."""
    statuses = []
    for path in files:
        count, error = 0, None
        try:
            for _ in tf.data.TFRecordDataset(path, compression_type=compression):
                count += 1
        except (tf.errors.DataLossError, tf.errors.OutOfRangeError) as e:
            error = e.message.splitlines()[0]
        statuses.append(ShardStatus(path, count, error))
    return statuses


def corrupt_shard_error(files: list[str], compression: str = "") -> DatasetError | None:
    """After a DataLossError from a pipeline: a DatasetError naming the corrupt shard(s)."""
    bad = [s for s in scan_shards(files, compression) if s.error]
    if not bad:
        return None
    names = ", ".join(f"{s.path} (after {s.records} records: {s.error})" for s in bad)
    return DatasetError(
        f"corrupt or truncated shard(s): {names}; rerun with --skip_corrupt to skip"
    )


def corrupt_shard_summary(files: list[str], compression: str = "") -> str | None:
    """For --skip_corrupt: one line counting corrupt shards and the records still readable."""
    bad = [s for s in scan_shards(files, compression) if s.error]
    if not bad:
        return None
    kept = sum(s.records for s in bad)
    names = ", ".join(os.path.basename(s.path) for s in bad)
    return (
        f"skipping the unreadable part of {len(bad)} of {len(files)} shard(s) ({names}); "
        f"{kept} record(s) before the damage are kept"
    )


def first_unparsable_record(files: list[str], compression: str = "") -> tuple | None:
    """(path, record index, error) of the first record the parser rejects (a visual map of the
    wrong size, a truncated float16 map, ...), or None. Reads every record of `files` once."""
    parse = _traced_parse_batch()
    for path in files:
        records = tf.data.TFRecordDataset(path, compression_type=compression).batch(1)
        parsed = records.map(parse, num_parallel_calls=AUTOTUNE, deterministic=True)
        index = 0
        try:
            for _ in parsed:
                index += 1
        except tf.errors.InvalidArgumentError as e:
            return path, index, e
        except (tf.errors.DataLossError, tf.errors.OutOfRangeError):
            continue  # a damaged shard: corrupt_shard_error names it
    return None
