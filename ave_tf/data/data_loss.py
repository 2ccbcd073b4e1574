"""One-line reports of damaged shards for the binaries (after a DataLossError, --skip_corrupt)."""

from ave_tf.data import pipeline
from ave_tf.data.dataset_info import load_dataset_info


def describe_data_loss(data_dir: str, error: Exception) -> str:
    """A one-line message naming the corrupt shard(s) after a DataLossError."""
    info = load_dataset_info(data_dir)
    files = []
    for split in info.splits:
        try:
            files += pipeline.list_shards(data_dir, split)
        except Exception:  # noqa: BLE001 - a missing split is not the problem here
            continue
    named = pipeline.corrupt_shard_error(files, info.compression)
    return str(named) if named else f"corrupt data in {data_dir}: {error}"


def announce_skipped_records(data_dir: str, splits) -> None:
    """--skip_corrupt: says up front how many shards are damaged (reads every shard once)."""
    info = load_dataset_info(data_dir)
    files = []
    for split in splits:
        files += pipeline.list_shards(data_dir, split)
    summary = pipeline.corrupt_shard_summary(files, info.compression)
    if summary:
        print(f"warning: {summary}", flush=True)
