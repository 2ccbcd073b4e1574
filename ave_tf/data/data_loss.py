"""One-line reports of damaged shards and records for the binaries (after a DataLossError or a
record the parser rejects; --skip_corrupt)."""

from ave_tf.data import pipeline
from ave_tf.data.dataset_info import load_dataset_info
from ave_tf.utils.errors import tf_error_message


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


def describe_bad_record(data_dir: str, splits, error: Exception) -> str:
    """After an InvalidArgumentError reading `splits`: one line naming the shard and record the
    parser rejects (the error's own line when no record is at fault, e.g. a model mismatch)."""
    info = load_dataset_info(data_dir)
    files = []
    for split in splits:
        try:
            files += pipeline.list_shards(data_dir, split)
        except Exception:  # noqa: BLE001 - a missing split is not the problem here
            continue
    found = pipeline.first_unparsable_record(files, info.compression)
    if found is None:
        return tf_error_message(error)
    path, index, record_error = found
    return (
        f"{path}: record {index} cannot be parsed ({tf_error_message(record_error)}); rewrite "
        "the dataset (ave_convert / ave_extract / ave_synth) or remove that shard"
    )
