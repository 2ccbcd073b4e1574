"""Split selection of the synthetic dataset and the records it writes (real TFRecords)."""

import collections

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.example import example_pb2

from ave_tf.data import ave_metadata, parser, pipeline, schema
from ave_tf.data.dataset_info import load_dataset_info
from ave_tf.data.synthetic import SyntheticGenerator
from ave_tf.data.synthetic_config import NOISY_VIDEOS, SyntheticConfig
from ave_tf.data.synthetic_dataset import select_rows, split_plan, write_dataset

# At least one video per class and split: ~140 videos, ~70 MB.
TINY = 0.005


def _classes(rows):
    annotations = ave_metadata.read_annotations()
    return collections.Counter(annotations[row].category for row in rows)


def test_selection_is_stratified_ordered_and_seeded():
    order = ave_metadata.default_split_orders()["train"]
    rows = select_rows(order, "train", 0.25, seed=0)
    assert abs(len(rows) - 0.25 * len(order)) < 28
    full, part = _classes(order), _classes(rows)
    assert set(part) == set(full)
    for category, count in full.items():
        assert abs(part[category] - 0.25 * count) <= 0.5 + 1e-9
    position = {row: i for i, row in enumerate(order)}
    assert all(position[a] < position[b] for a, b in zip(rows[:-1], rows[1:], strict=True))
    np.testing.assert_array_equal(rows, select_rows(order, "train", 0.25, seed=0))
    assert not np.array_equal(rows, select_rows(order, "train", 0.25, seed=1))
    np.testing.assert_array_equal(select_rows(order, "train", 1.0, seed=0), order)


def test_full_scale_plan_is_the_release():
    plan = split_plan(SyntheticConfig(full_scale=True, fraction=0.1))
    assert list(plan) == list(schema.ALL_SPLITS)
    counts = {split: len(rows) for split, rows in plan.items()}
    assert counts == {
        "train": 3339,
        "val": 402,
        "test": 402,
        "train_noisy": NOISY_VIDEOS,
        "train_match": 3339,
        "val_match": 402,
        "test_match": 402,
    }


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("synth"))
    config = SyntheticConfig(seed=5, fraction=TINY)
    info = write_dataset(out, config, verbose=False, shard_bytes=4 << 20)
    return out, config, info


def _records(data_dir, split):
    """Parsed records (the one parser) plus the annotation row from the context."""
    for serialized in pipeline.records_dataset(
        pipeline.list_shards(data_dir, split), pipeline.InputConfig()
    ):
        parsed = parser.parse_batch(serialized[None])
        record = {key: value[0].numpy() for key, value in parsed.items()}
        context = example_pb2.SequenceExample.FromString(serialized.numpy()).context.feature
        record["annotation_index"] = context[schema.ANNOTATION_INDEX_KEY].int64_list.value[0]
        record["source"] = context[schema.SOURCE_KEY].bytes_list.value[0].decode()
        yield record


def test_dataset_json_says_synthetic_with_every_split(dataset):
    out, config, info = dataset
    loaded = load_dataset_info(out)
    assert loaded.synthetic is True and loaded.source == "synthetic"
    assert "SYNTHETIC" in loaded.description and "ave_convert" in loaded.description
    assert loaded.extra["config"] == config.to_json()
    assert loaded.visual_dtype == "float16"
    assert loaded.class_names == list(ave_metadata.class_names())
    plan = split_plan(config)
    assert set(loaded.splits) == set(schema.ALL_SPLITS)
    for split, rows in plan.items():
        assert loaded.splits[split]["videos"] == len(rows)
        assert loaded.splits[split]["segments"] == 10 * len(rows)
    assert loaded.splits["train"]["shards"] > 1  # 4 MiB shards


def test_records_carry_the_annotation_labels(dataset):
    out, _, _ = dataset
    annotations = ave_metadata.read_annotations()
    for split in ("train", "test", "val_match"):
        seen = 0
        for record in _records(out, split):
            row = annotations[int(record["annotation_index"])]
            assert record["video_id"].decode() == row.video_id
            np.testing.assert_array_equal(record["labels"], ave_metadata.segment_labels(row))
            assert record["video_label"] == ave_metadata.class_index(row.category)
            assert (record["event_start"], record["event_end"]) == (row.start, row.end)
            assert record["audio"].min() >= 0 and record["visual"].min() >= 0
            assert record["source"] == "synthetic"
            seen += 1
        assert seen == load_dataset_info(out).splits[split]["videos"]


def test_noisy_split_is_background_only(dataset):
    out, _, _ = dataset
    records = list(_records(out, "train_noisy"))
    assert records
    for record in records:
        assert record["video_id"].decode().startswith("noisy_")
        assert record["annotation_index"] == -1
        assert record["video_label"] == schema.BACKGROUND_CLASS
        assert (record["labels"] == schema.BACKGROUND_CLASS).all()


def test_match_split_features_are_those_of_the_row(dataset):
    """A row's features do not depend on the split it is written into."""
    out, config, _ = dataset
    generator = SyntheticGenerator(config)
    annotations = ave_metadata.read_annotations()
    record = next(_records(out, "test_match"))
    video = generator.annotated(annotations[int(record["annotation_index"])])
    np.testing.assert_array_equal(record["audio"], video.audio)
    np.testing.assert_allclose(record["visual"], video.visual, rtol=1e-3, atol=1e-3)


@pytest.mark.slow
def test_worker_processes_write_the_same_bytes(tmp_path):
    """Generation in worker processes gives byte-identical shards (two spawned processes)."""
    config = SyntheticConfig(seed=2, fraction=TINY)
    single = write_dataset(str(tmp_path / "one"), config, verbose=False)
    pooled = write_dataset(str(tmp_path / "two"), config, verbose=False, workers=2)
    assert pooled.splits == single.splits
    for split in single.splits.values():
        for name in split["files"]:
            assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_splits_are_written_in_a_seeded_random_order(dataset):
    """The release lists videos grouped by class; the shards must not be."""
    out, config, info = dataset
    assert info.extra["write_order"]["shuffled"] and info.extra["write_order"]["seed"] == 5
    plan = split_plan(config)
    order = ave_metadata.default_split_orders()["train"]
    assert sorted(plan["train"]) == sorted(select_rows(order, "train", TINY, seed=5))
    in_file_order = tf.data.TFRecordDataset(pipeline.list_shards(out, "train"))
    contexts = [
        example_pb2.SequenceExample.FromString(r.numpy()).context.feature for r in in_file_order
    ]
    written = [c[schema.ANNOTATION_INDEX_KEY].int64_list.value[0] for c in contexts]
    assert written == plan["train"] and written != sorted(written)
    classes = [c[schema.CLASS_INDEX_KEY].int64_list.value[0] for c in contexts]
    # In class order the first 20 records would hold about 3 classes.
    assert len(set(classes[:20])) >= 10
    assert plan["train"] != split_plan(SyntheticConfig(seed=6, fraction=TINY))["train"]
