"""ave_convert's write order: each split's videos in a seeded random order, not grouped by class.

The fake release lists its videos grouped by class, as the real Annotations.txt does, with one
segment per video to keep it small (~20 MB of h5)."""

import numpy as np
import pytest
import tensorflow as tf
from fake_release import write_fake_release
from tensorflow.core.example import example_pb2

from ave_tf.data import convert, pipeline, schema, write_order
from ave_tf.data.dataset_info import load_dataset_info

NUM_CLASSES = 10


@pytest.fixture(scope="module")
def grouped(tmp_path_factory):
    return write_fake_release(
        str(tmp_path_factory.mktemp("grouped")),
        num_videos=100,
        num_noisy=0,
        num_segments=1,
        num_classes=NUM_CLASSES,
        grouped_by_class=True,
        labels_file=False,
        match_orders=False,
    )


def _convert(release, output_dir, **kwargs):
    config = convert.ConvertConfig(
        release.h5_dir, str(output_dir), splits=("train",), show_progress=False, **kwargs
    )
    return convert.convert(config, log=lambda _: None)


def _records(data_dir, split="train") -> list:
    """(annotation_index, class_index, audio [T, 128], visual [T, 7*7*512]) in shard order."""
    out = []
    for path in pipeline.list_shards(str(data_dir), split):
        for record in tf.data.TFRecordDataset([path]):
            proto = example_pb2.SequenceExample.FromString(record.numpy())
            context, lists = proto.context.feature, proto.feature_lists.feature_list
            out.append(
                (
                    context[schema.ANNOTATION_INDEX_KEY].int64_list.value[0],
                    context[schema.CLASS_INDEX_KEY].int64_list.value[0],
                    np.array([f.float_list.value for f in lists[schema.AUDIO_KEY].feature]),
                    np.array([f.float_list.value for f in lists[schema.VISUAL_KEY].feature]),
                )
            )
    return out


def _same_class_neighbours(classes) -> float:
    return float(np.mean(np.diff(classes) == 0))


def test_records_are_written_in_a_seeded_random_order(grouped, tmp_path):
    rows = np.sort(grouped.orders["train"])
    classes_by_row = np.repeat(np.arange(NUM_CLASSES), 100 // NUM_CLASSES)
    # In disk order the first 50 videos span about half the classes, neighbours share a class.
    assert len(set(classes_by_row[rows[:50]])) <= 7
    assert _same_class_neighbours(classes_by_row[rows]) > 0.8

    result = _convert(grouped, tmp_path / "seed0", shard_bytes=2 << 20)
    assert result.info.splits["train"]["shards"] > 1  # the order runs across shards
    records = _records(tmp_path / "seed0")
    written = [r[0] for r in records]
    classes = [r[1] for r in records]
    assert len(set(classes[:50])) == NUM_CLASSES
    assert len(set(classes[:20])) >= 7
    assert _same_class_neighbours(classes) < 0.25
    np.testing.assert_array_equal(written, rows[write_order.permutation(len(rows), "train", 0)])
    info = load_dataset_info(str(tmp_path / "seed0"))
    assert info.extra["write_order"]["seed"] == 0 and info.extra["write_order"]["shuffled"]

    # Every video once, with its own features and class.
    assert sorted(written) == rows.tolist()
    for row, class_index, audio, visual in records:
        assert class_index == classes_by_row[row]
        np.testing.assert_array_equal(audio, grouped.audio[row].astype(np.float32))
        np.testing.assert_array_equal(visual, grouped.visual[row].reshape(1, -1).astype(np.float32))


def test_same_seed_same_order_other_seed_other_order(grouped, tmp_path):
    orders = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        _convert(grouped, tmp_path / name, seed=seed, chunk_videos=5)
        orders[name] = [r[0] for r in _records(tmp_path / name)]
    assert orders["a"] == orders["b"] != orders["c"]
    assert sorted(orders["a"]) == sorted(orders["c"])
    assert load_dataset_info(str(tmp_path / "c")).extra["write_order"]["seed"] == 8
