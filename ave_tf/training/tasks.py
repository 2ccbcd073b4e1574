"""Chooses the training task object for a configuration."""

from ave_tf.data import pipeline
from ave_tf.data.dataset_info import load_dataset_info


def make_task(train_config, model_config, data_dir: str | None = None):
    """The task object the trainer drives (see trainer.train for the interface)."""
    if train_config.task in ("supervised", "weak"):
        from ave_tf.training.localization_task import LocalizationTask

        return LocalizationTask(train_config.task, model_config, use_noisy=train_config.use_noisy)
    from ave_tf.training.cross_modal_task import CrossModalTask

    # DCCA fits its linear CCA on the training split, which it reads from data_dir.
    return CrossModalTask(model_config, seed=train_config.seed, data_dir=data_dir)


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
