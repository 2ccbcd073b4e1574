"""tf.data input pipeline over the shards of a dataset directory.

files (seeded shuffle) -> interleave(TFRecordDataset) -> [cache] -> shuffle -> batch ->
parse (the one parser, vectorized over the batch) -> prefetch. Memory is bounded by the
shuffle buffer and prefetch depth, never by the dataset size.
"""

import dataclasses
import os

import tensorflow as tf

from ave_tf.data import parser, schema
from ave_tf.data.dataset_info import DatasetError, load_dataset_info
from ave_tf.utils.tfio_compat import ensure_filesystem

AUTOTUNE = tf.data.AUTOTUNE


@dataclasses.dataclass
class InputConfig:
    """How a split is read.

    Attributes:
      batch_size: videos per batch.
      shuffle: shuffle files and records (training); False keeps file order.
      shuffle_buffer: records held for shuffling (each ~0.5-1 MB).
      seed: seeds file and record shuffling; None for nondeterministic order.
      repeat: repeat the data forever (step-based training); False = one pass.
      drop_remainder: drop the last, smaller batch.
      cache: "" no cache, "memory" caches serialized records in RAM, else a cache file path.
      deterministic: keep element order reproducible across runs (slightly slower).
      skip_corrupt: skip unreadable records instead of failing (the count is logged).
      cycle_length: shards read in parallel.
    """

    batch_size: int = 32
    shuffle: bool = False
    shuffle_buffer: int = 256
    seed: int | None = None
    repeat: bool = False
    drop_remainder: bool = False
    cache: str = ""
    deterministic: bool = True
    skip_corrupt: bool = False
    cycle_length: int = 4


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


def records_dataset(
    files: list[str], config: InputConfig, compression: str = ""
) -> tf.data.Dataset:
    """Serialized records of `files`, file order shuffled with the seed when asked."""
    if not files:
        raise DatasetError("no input files given")
    ds = tf.data.Dataset.from_tensor_slices(files)
    if config.shuffle:
        ds = ds.shuffle(len(files), seed=config.seed, reshuffle_each_iteration=True)

    def read(path):
        records = tf.data.TFRecordDataset(path, compression_type=compression, buffer_size=8 << 20)
        if config.skip_corrupt:
            records = records.ignore_errors(log_warning=True)
        return records

    ds = ds.interleave(
        read,
        cycle_length=min(config.cycle_length, len(files)),
        block_length=1,
        num_parallel_calls=AUTOTUNE,
        deterministic=config.deterministic,
    )
    if config.cache:
        ds = ds.cache("" if config.cache == "memory" else config.cache)
    return ds


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


def batched_features(records: tf.data.Dataset, config: InputConfig) -> tf.data.Dataset:
    """Shuffles, batches and parses serialized records."""
    ds = records
    if config.shuffle:
        ds = ds.shuffle(config.shuffle_buffer, seed=config.seed, reshuffle_each_iteration=True)
    if config.repeat:
        ds = ds.repeat()
    ds = ds.batch(config.batch_size, drop_remainder=config.drop_remainder)
    ds = ds.map(
        _traced_parse_batch(), num_parallel_calls=AUTOTUNE, deterministic=config.deterministic
    )
    options = tf.data.Options()
    options.deterministic = config.deterministic
    options.experimental_optimization.map_parallelization = True
    ds = ds.with_options(options)
    return ds.prefetch(AUTOTUNE)


def make_dataset(data_dir: str, split: str, config: InputConfig) -> tf.data.Dataset:
    """Batches of parsed features (see `parser.parse_batch`) for one split of a dataset dir."""
    info = load_dataset_info(data_dir)
    if split not in schema.ALL_SPLITS and split not in info.splits:
        raise DatasetError(f"unknown split {split!r}; {data_dir} has {sorted(info.splits)}")
    files = list_shards(data_dir, split)
    return batched_features(records_dataset(files, config, info.compression), config)


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
