"""Training input does not depend on the order records were written in.

The AVE release lists videos grouped by class; a converter that keeps that order writes shards
of one or two classes each. These datasets are written that way on purpose (as an older writer
or another tool would), without the per-shard record counts newer writers put in dataset.json.
"""

import dataclasses
import os

import numpy as np
import pytest
import tensorflow as tf

from ave_tf.data import ave_metadata, example_codec, parser, pipeline, schema
from ave_tf.data.dataset_info import (
    DatasetError,
    DatasetInfo,
    load_dataset_info,
    write_dataset_info,
)

NUM_CLASSES_USED = 28
BATCH = 32
FIRST_BATCHES = 20


def _encode(rng, video_id, class_index, num_segments, signal=1.5):
    """A labelled video; event segments carry the class in the audio (planted, learnable)."""
    audio = rng.random((num_segments, schema.AUDIO_DIM)).astype(np.float32) * 0.2
    visual = rng.random((num_segments, *schema.VISUAL_SHAPE)).astype(np.float32) * 0.1
    labels = np.full([num_segments], class_index, np.int64)
    audio[:, (class_index * 4) % 128 : (class_index * 4) % 128 + 4] += signal
    return example_codec.encode_video(
        video_id=video_id,
        audio=audio,
        visual=visual,
        labels=labels,
        class_index=class_index,
        class_name=ave_metadata.class_names()[class_index],
        event_start=0,
        event_end=num_segments,
        source="test",
        visual_dtype="float16",
    )


def _write(
    output_dir, videos, classes_per_shard, legacy=True, classes=NUM_CLASSES_USED, keep_order=False
):
    """Writes a train split sorted by class, `classes_per_shard` classes per shard (0: one
    shard), by hand as another tool would; `legacy` leaves out the per-shard record counts."""
    if not keep_order:
        videos = sorted(videos, key=lambda v: v[0])
    if classes_per_shard:
        groups = [
            [v for v in videos if v[0] // classes_per_shard == g]
            for g in range(classes // classes_per_shard)
        ]
    else:
        groups = [videos]
    os.makedirs(output_dir)
    files, counts = [], []
    for index, group in enumerate(groups):
        name = schema.SHARD_PATTERN.format(split="train", index=index, count=len(groups))
        with tf.io.TFRecordWriter(os.path.join(output_dir, name)) as writer:
            for _, record, _ in group:
                writer.write(record)
        files.append(name)
        counts.append(len(group))
    segments = sum(v[2] for v in videos)
    split = {"videos": len(videos), "segments": segments, "shards": len(groups), "files": files}
    if not legacy:
        split["shard_records"] = counts
    info = DatasetInfo(
        name="class_sorted",
        source="test",
        synthetic=True,
        description="class-sorted like the AVE release",
        class_names=list(ave_metadata.class_names()),
        splits={"train": split},
        visual_dtype="float16",
    )
    write_dataset_info(output_dir, info)
    return info


def _append_split(data_dir, split, videos):
    """Adds a one-shard split to a dataset written by `_write`."""
    name = schema.SHARD_PATTERN.format(split=split, index=0, count=1)
    with tf.io.TFRecordWriter(os.path.join(data_dir, name)) as writer:
        for _, record, _ in videos:
            writer.write(record)
    info = load_dataset_info(data_dir)
    info.splits[split] = {
        "videos": len(videos),
        "segments": sum(v[2] for v in videos),
        "shards": 1,
        "files": [name],
    }
    write_dataset_info(data_dir, info)


def _class_sorted_split(tmp_path, classes_per_shard, per_class=40, legacy=True):
    rng = np.random.default_rng(0)
    videos = [
        (c, _encode(rng, f"v{c}_{i}", c, 1), 1)
        for c in range(NUM_CLASSES_USED)
        for i in range(per_class)
    ]
    out = str(tmp_path / f"sorted_{classes_per_shard}")
    info = _write(out, videos, classes_per_shard, legacy)
    return out, info


def _iid_distinct(class_counts, batch, rng, draws=400):
    pool = np.repeat(np.arange(len(class_counts)), class_counts)
    return np.mean([len(set(rng.permutation(pool)[:batch])) for _ in range(draws)])


def _distinct_per_batch(data_dir, config, batches=FIRST_BATCHES):
    dataset = pipeline.make_dataset(data_dir, "train", config).take(batches)
    return np.mean([len(set(b[parser.VIDEO_LABEL].numpy().tolist())) for b in dataset])


@pytest.mark.parametrize("classes_per_shard", [1, 2, 0], ids=["1/shard", "2/shard", "1 shard"])
def test_batches_of_a_class_sorted_dataset_are_iid_like(tmp_path, classes_per_shard):
    data_dir, info = _class_sorted_split(tmp_path, classes_per_shard)
    expected_shards = 1 if not classes_per_shard else NUM_CLASSES_USED // classes_per_shard
    assert info.splits["train"]["shards"] == expected_shards
    first_shard = list(tf.data.TFRecordDataset(pipeline.list_shards(data_dir, "train")[0]))
    in_first = set(parser.parse_batch(first_shard)[parser.VIDEO_LABEL].numpy().tolist())
    assert len(in_first) == (classes_per_shard or NUM_CLASSES_USED)  # really class-sorted
    iid = _iid_distinct([40] * NUM_CLASSES_USED, BATCH, np.random.default_rng(1))
    # A buffer holding 8% of the split: what 256 MiB holds of a full-size float32 release.
    config = pipeline.InputConfig(batch_size=BATCH, shuffle=True, seed=3, shuffle_buffer=90)
    seen = _distinct_per_batch(data_dir, config)
    assert seen >= 0.8 * iid, f"{seen:.1f} distinct classes per batch, i.i.d. gives {iid:.1f}"


def test_whole_shard_streaming_of_the_same_data_is_not_iid(tmp_path):
    """The check above can fail: reading whole class-sorted shards (the old reader) does."""
    data_dir, _ = _class_sorted_split(tmp_path, 2)
    iid = _iid_distinct([40] * NUM_CLASSES_USED, BATCH, np.random.default_rng(1))
    old = pipeline.InputConfig(
        batch_size=BATCH, shuffle=True, seed=3, shuffle_buffer=90, range_records=0, cycle_length=4
    )
    assert _distinct_per_batch(data_dir, old) < 0.8 * iid


def test_every_record_is_read_once_per_epoch_and_epochs_differ(tmp_path):
    data_dir, _ = _class_sorted_split(tmp_path, 2, per_class=5)
    ids = []
    for seed in (1, 2):
        config = pipeline.InputConfig(batch_size=7, shuffle=True, seed=seed, shuffle_buffer=10)
        ids.append(
            [
                v
                for b in pipeline.make_dataset(data_dir, "train", config)
                for v in b["video_id"].numpy()
            ]
        )
    assert sorted(ids[0]) == sorted(ids[1]) and len(set(ids[0])) == 5 * NUM_CLASSES_USED
    assert ids[0] != ids[1]
    again = pipeline.InputConfig(batch_size=7, shuffle=True, seed=1, shuffle_buffer=10)
    assert [
        v for b in pipeline.make_dataset(data_dir, "train", again) for v in b["video_id"].numpy()
    ] == ids[0]


def test_recorded_and_counted_shard_records_agree(tmp_path):
    data_dir, info = _class_sorted_split(tmp_path, 2, per_class=3, legacy=False)
    files = pipeline.list_shards(data_dir, "train")
    recorded = pipeline.recorded_shard_counts(info, "train", files)
    counted = pipeline.shuffle_plan(files, pipeline.InputConfig(shuffle=True)).shard_records
    assert recorded == list(counted) and sum(counted) == 3 * NUM_CLASSES_USED


def test_shuffle_buffer_follows_the_memory_budget(tmp_path):
    data_dir, _ = _class_sorted_split(tmp_path, 2, per_class=10)
    files = pipeline.list_shards(data_dir, "train")
    record_bytes = sum(os.path.getsize(f) for f in files) / (10 * NUM_CLASSES_USED)
    budget_mb = 1
    plan = pipeline.shuffle_plan(
        files, pipeline.InputConfig(shuffle=True, batch_size=4, shuffle_buffer_mb=budget_mb)
    )
    assert plan.buffer_records == int(2**20 // record_bytes)
    assert "shuffle buffer" in plan.describe() and plan.ranges == 10 * NUM_CLASSES_USED // 4
    cached = plan.describe(cached="parsed")  # a cache of the whole split uses no buffer
    assert "shuffle buffer" not in cached and "cached in memory (parsed)" in cached
    huge = pipeline.shuffle_plan(files, pipeline.InputConfig(shuffle=True, shuffle_buffer_mb=4096))
    assert huge.buffer_records == 10 * NUM_CLASSES_USED  # never more than the split
    fixed = pipeline.shuffle_plan(files, pipeline.InputConfig(shuffle=True, shuffle_buffer=33))
    assert fixed.buffer_records == 33


def test_a_truncated_shard_is_named_before_training(tmp_path):
    data_dir, _ = _class_sorted_split(tmp_path, 7, per_class=2)
    files = pipeline.list_shards(data_dir, "train")
    with open(files[1], "r+b") as f:
        f.truncate(os.path.getsize(files[1]) - 100)
    config = pipeline.InputConfig(shuffle=True, batch_size=4)
    with pytest.raises(DatasetError, match=os.path.basename(files[1])):
        pipeline.make_dataset(data_dir, "train", config)
    kept = pipeline.make_dataset(
        data_dir, "train", pipeline.InputConfig(shuffle=True, batch_size=4, skip_corrupt=True)
    )
    assert sum(int(b["audio"].shape[0]) for b in kept) == 2 * NUM_CLASSES_USED - 1


def _learning_split(rng, classes, per_class, num_segments=4):
    return [
        (c, _encode(rng, f"c{c}_{i}", c, num_segments, signal=0.6), num_segments)
        for c in range(classes)
        for i in range(per_class)
    ]


def _train_and_validate(data_dir, model_dir):
    from ave_tf.models.config import ModelConfig
    from ave_tf.training.localization_task import LocalizationTask
    from ave_tf.training.trainer import train
    from tests.experiment_fixtures import make_experiment

    model_config = ModelConfig(task="supervised", modality="audio", hidden_size=16)
    task = LocalizationTask("supervised", model_config)
    # A buffer of 10% of the split, as the default budget holds of a full-size release.
    experiment = make_experiment(
        model_config,
        data_dir,
        trainer={"epochs": 3, "batch_size": 16, "log_attention_videos": 0, "verbose": False},
        data={"shuffle_buffer": 20},
    )
    return train(experiment, model_dir, task=task).best_metric


def test_training_on_a_class_sorted_dataset_equals_training_on_a_shuffled_one(tmp_path):
    """Same videos, written class-sorted (one class per shard) or shuffled: same accuracy."""
    rng = np.random.default_rng(5)
    classes = 10
    train_videos = _learning_split(rng, classes, 20)
    val_videos = _learning_split(rng, classes, 4)
    accuracies = {}
    for name, per_shard in (("sorted", 1), ("shuffled", None)):
        data_dir = str(tmp_path / name)
        if per_shard:
            _write(data_dir, train_videos, per_shard, classes=classes)
        else:
            order = np.random.default_rng(0).permutation(len(train_videos))
            _write(data_dir, [train_videos[i] for i in order], 0, keep_order=True)
        _append_split(data_dir, "val", val_videos)
        accuracies[name] = _train_and_validate(data_dir, str(tmp_path / f"run_{name}"))
    assert accuracies["shuffled"] > 0.5, accuracies  # the task is learnable in 3 epochs
    assert abs(accuracies["sorted"] - accuracies["shuffled"]) <= 0.05, accuracies


def test_memory_cache_is_read_once_and_reshuffled_every_epoch(tmp_path):
    """As the trainer uses `--cache=memory`: records cached once, a whole-split buffer on top."""
    data_dir, _ = _class_sorted_split(tmp_path, 2, per_class=3)
    files = pipeline.list_shards(data_dir, "train")
    config = pipeline.InputConfig(batch_size=8, shuffle=True, seed=4, cache="memory")
    cached = pipeline.records_dataset(files, config)
    records = 3 * NUM_CLASSES_USED
    epochs = []
    for epoch in range(2):
        epoch_config = pipeline.InputConfig(batch_size=8, shuffle=True, seed=10 + epoch)
        batches = pipeline.batched_features(cached, epoch_config, buffer_records=records)
        epochs.append([v for b in batches for v in b[parser.VIDEO_ID].numpy()])
    assert len(set(epochs[0])) == records and sorted(epochs[0]) == sorted(epochs[1])
    assert epochs[0] != epochs[1]


def test_parsed_cache_gives_the_batches_of_the_memory_cache(tmp_path):
    """`--cache=parsed` parses once and pads per batch: the same batches, key by key, as
    caching the records and parsing every batch, with videos of different lengths (padding)."""
    rng = np.random.default_rng(3)
    videos = [
        (c, _encode(rng, f"v{c}_{i}", c, int(rng.integers(1, 5))), 1)
        for c in range(NUM_CLASSES_USED)
        for i in range(2)
    ]
    unlabeled = example_codec.encode_video(
        video_id="unlabeled",
        audio=np.ones((3, schema.AUDIO_DIM)),
        visual=np.ones((3, *schema.VISUAL_SHAPE)),
        labels=None,
        class_index=0,
        class_name="c",
        event_start=-1,
        event_end=-1,
        source="test",
    )
    data_dir = str(tmp_path / "data")
    _write(data_dir, [*videos, (0, unlabeled, 3)], 2)
    files = pipeline.list_shards(data_dir, "train")
    records = len(videos) + 1
    first = pipeline.InputConfig(batch_size=8, shuffle=True, seed=4, cache="memory")
    serialized = pipeline.records_dataset(files, first)
    first = dataclasses.replace(first, cache=pipeline.PARSED)
    parsed = pipeline.parsed_videos(pipeline.records_dataset(files, first), 16).cache()
    for epoch in range(2):
        config = pipeline.InputConfig(batch_size=8, shuffle=True, seed=10 + epoch)
        expected = list(pipeline.batched_features(serialized, config, buffer_records=records))
        got = list(pipeline.batched_videos(parsed, config, buffer_records=records))
        assert len(got) == len(expected) == 8
        for want, have in zip(expected, got, strict=True):
            assert sorted(want) == sorted(have)
            for key in want:
                np.testing.assert_array_equal(have[key], want[key], err_msg=key)
    padded = [(batch[parser.LABELS].numpy() == -1).sum() for batch in got]
    assert sum(padded) > 3  # padding and the unlabeled video were compared too
