"""CPU cost of the training input per batch (read, shuffle, batch, parse), streamed or cached.

  .venv/bin/python benchmarks/input_benchmark.py --data_dirs=/tmp/full_check/tfrecords \
      --batches=30

For each dataset directory (e.g. one release converted with each `ave_convert --visual_dtype`),
runs the training split's input as `ave_train` builds it (shuffled, batch 64, no autotuning) and
prints the process CPU seconds and wall seconds per batch:
  - streamed: read + shuffle + batch + parse, every epoch (`--cache=''`);
  - parse alone: `parse_batch` on serialized batches already in memory;
  - parsed cache (`--cache=parsed`): the epochs after the first, which only shuffle and pad
    parsed videos held in memory (the first epoch parses and fills the cache: its cost is
    printed too, per batch).
CPU time is what the input takes from the cores the training steps share, so it is the number
to compare; wall time depends on the machine's load. The first --warmup batches of the streamed
input (file opening, tracing, the shuffle buffer's fill) are not counted.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# TensorFlow's CPU allocator as the binaries set it (ave_tf/bin/__init__.py): it decides what
# a 64 MB batch costs.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

import tensorflow as tf  # noqa: E402

from ave_tf.data import dataset_info, parser, pipeline  # noqa: E402


def _clock() -> tuple[float, float]:
    return time.process_time(), time.perf_counter()


def _per_batch(start: tuple, batches: int) -> str:
    cpu, wall = (now - then for now, then in zip(_clock(), start, strict=True))
    return f"{1000 * cpu / batches:.0f} ms CPU, {1000 * wall / batches:.0f} ms wall"


def _as_trained(dataset: tf.data.Dataset) -> tf.data.Dataset:
    options = tf.data.Options()
    options.autotune.enabled = False  # as the trainer runs it (trainer.py says why)
    return dataset.with_options(options)


def streamed(data_dir: str, args) -> str:
    config = pipeline.InputConfig(batch_size=args.batch_size, shuffle=True, seed=0, repeat=True)
    batches = iter(_as_trained(pipeline.make_dataset(data_dir, "train", config)))
    for _ in range(args.warmup):
        next(batches)
    start = _clock()
    for _ in range(args.batches):
        next(batches)
    return _per_batch(start, args.batches)


def parse_alone(data_dir: str, compression: str, args) -> str:
    files = pipeline.list_shards(data_dir, "train")
    records = tf.data.TFRecordDataset(files, compression_type=compression or None)
    serialized = list(records.batch(args.batch_size, drop_remainder=True).take(args.parse_batches))
    parse = tf.function(parser.parse_batch)
    parse(serialized[0])  # trace
    start = _clock()
    for _ in range(args.parse_repeats):
        for batch in serialized:
            parse(batch)
    return _per_batch(start, args.parse_repeats * len(serialized))


def parsed_cache(data_dir: str, compression: str, args) -> tuple[str, str]:
    """(first epoch: parse and fill, later epochs), per batch, as the trainer's --cache=parsed."""
    files = pipeline.list_shards(data_dir, "train")
    config = pipeline.InputConfig(batch_size=args.batch_size, shuffle=True, seed=0)
    plan = pipeline.shuffle_plan(files, config, compression)
    records = pipeline.records_dataset(files, config, compression, plan.shard_records)
    cached = pipeline.parsed_videos(records).cache()
    per_epoch = -(-plan.records // args.batch_size)
    start = _clock()
    for _ in _as_trained(pipeline.batched_videos(cached, config, plan.records)):
        pass
    first = _per_batch(start, per_epoch)
    start = _clock()
    for epoch in range(1, args.cached_epochs + 1):
        later = pipeline.InputConfig(batch_size=args.batch_size, shuffle=True, seed=epoch)
        for _ in _as_trained(pipeline.batched_videos(cached, later, plan.records)):
            pass
    return first, _per_batch(start, args.cached_epochs * per_epoch)


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--data_dirs", required=True, help="Comma-separated dataset dirs.")
    arguments.add_argument("--batch_size", type=int, default=64)
    arguments.add_argument("--batches", type=int, default=30, help="Streamed batches timed.")
    arguments.add_argument("--warmup", type=int, default=5)
    arguments.add_argument("--parse_batches", type=int, default=8)
    arguments.add_argument("--parse_repeats", type=int, default=3, help="Passes over them.")
    arguments.add_argument("--cached_epochs", type=int, default=2, help="0: no parsed cache.")
    args = arguments.parse_args()
    print(f"\nTraining input per batch of {args.batch_size} videos (train split)\n")
    print(
        "| visual storage | data | streamed | parse alone | parsed cache: first epoch "
        "| parsed cache: later epochs |"
    )
    print("|---|---|---|---|---|---|")
    for data_dir in args.data_dirs.split(","):
        info = dataset_info.load_dataset_info(data_dir)
        row = [info.visual_dtype, data_dir, streamed(data_dir, args)]
        row.append(parse_alone(data_dir, info.compression, args))
        if args.cached_epochs:
            row.extend(parsed_cache(data_dir, info.compression, args))
        else:
            row.extend(["-", "-"])
        print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
