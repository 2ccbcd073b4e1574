"""Codec -> writer -> pipeline -> parser round trip, float32 and float16 visual storage."""

import json
import os

import numpy as np
import pytest

from ave_tf.data import example_codec, pipeline, schema
from ave_tf.data.dataset_info import DatasetError, DatasetInfo, load_dataset_info
from ave_tf.data.shard_writer import DatasetExistsError, DatasetWriter


def _info():
    return DatasetInfo(
        name="t", source="test", synthetic=True, description="", class_names=[], splits={}
    )


def _videos(rng, count):
    out = {}
    for i in range(count):
        t = 10 if i % 3 else 6
        out[f"v{i}"] = (
            rng.random((t, 128)).astype(np.float32),
            rng.random((t, 7, 7, 512)).astype(np.float32) * 8,
            rng.integers(0, 29, t),
            "float16" if i % 2 else "float32",
        )
    return out


def _write(out_dir, videos, **kwargs):
    with DatasetWriter(out_dir, shard_bytes=3 << 20, **kwargs) as writer:
        for vid, (a, v, lab, dtype) in videos.items():
            record = example_codec.encode_video(
                video_id=vid,
                audio=a,
                visual=v,
                labels=lab,
                class_index=int(lab[0]),
                class_name="c",
                event_start=0,
                event_end=len(lab),
                source="test",
                visual_dtype=dtype,
            )
            writer.write("train", record, len(lab))
        return writer.commit(_info())


@pytest.mark.parametrize("compression", ["", "GZIP"])
def test_round_trip_equals_inputs(tmp_path, compression):
    videos = _videos(np.random.default_rng(0), 9)
    info = _write(str(tmp_path), videos, compression=compression)
    assert info.splits["train"]["videos"] == 9
    assert info.splits["train"]["shards"] > 1
    assert load_dataset_info(str(tmp_path)).compression == compression
    seen = set()
    config = pipeline.InputConfig(batch_size=4)
    for batch in pipeline.make_dataset(str(tmp_path), "train", config):
        for j, vid in enumerate(batch["video_id"].numpy()):
            a, v, lab, dtype = videos[vid.decode()]
            t = len(lab)
            np.testing.assert_array_equal(batch["audio"][j, :t], a)
            if dtype == "float16":
                np.testing.assert_allclose(batch["visual"][j, :t], v, rtol=1e-3, atol=1e-3)
            else:
                np.testing.assert_array_equal(batch["visual"][j, :t], v)
            np.testing.assert_array_equal(batch["labels"][j, :t], lab)
            assert (batch["labels"][j, t:].numpy() == -1).all()
            assert batch["mask"][j].numpy().sum() == t
            assert batch["num_segments"][j] == t
            seen.add(vid.decode())
    assert seen == set(videos)


def test_seeded_shuffle_is_repeatable(tmp_path):
    _write(str(tmp_path), _videos(np.random.default_rng(1), 12))
    config = pipeline.InputConfig(batch_size=3, shuffle=True, seed=7, shuffle_buffer=8)

    def order():
        ds = pipeline.make_dataset(str(tmp_path), "train", config)
        return [v for b in ds for v in b["video_id"].numpy().tolist()]

    assert order() == order()


def test_existing_dataset_is_refused_then_overwritten(tmp_path):
    videos = _videos(np.random.default_rng(2), 3)
    _write(str(tmp_path), videos)
    with pytest.raises(DatasetExistsError, match="--overwrite"):
        _write(str(tmp_path), videos)
    _write(str(tmp_path), dict(list(videos.items())[:2]), overwrite=True)
    assert load_dataset_info(str(tmp_path)).splits["train"]["videos"] == 2


def test_failure_mid_write_leaves_nothing_visible(tmp_path):
    videos = _videos(np.random.default_rng(3), 4)
    with pytest.raises(OSError, match="No space"):
        with DatasetWriter(str(tmp_path)) as writer:
            for i, (vid, (a, v, lab, _)) in enumerate(videos.items()):
                if i == 2:
                    raise OSError(28, "No space left on device")
                record = example_codec.encode_video(
                    video_id=vid,
                    audio=a,
                    visual=v,
                    labels=lab,
                    class_index=0,
                    class_name="c",
                    event_start=0,
                    event_end=len(lab),
                    source="t",
                )
                writer.write("train", record, len(lab))
    assert os.listdir(tmp_path) == []


def test_empty_glob_and_schema_mismatch_fail_loudly(tmp_path):
    with pytest.raises(DatasetError, match="dataset.json"):
        load_dataset_info(str(tmp_path))
    _write(str(tmp_path), _videos(np.random.default_rng(4), 2))
    with pytest.raises(DatasetError, match="no shards match"):
        pipeline.list_shards(str(tmp_path), "val")
    path = tmp_path / schema.DATASET_INFO_FILE
    raw = json.loads(path.read_text())
    raw["schema_version"] = 999
    path.write_text(json.dumps(raw))
    with pytest.raises(DatasetError, match="schema version 999"):
        load_dataset_info(str(tmp_path))


def test_nan_features_are_rejected_naming_the_video():
    audio = np.zeros((10, 128), np.float32)
    audio[3, 5] = np.nan
    with pytest.raises(example_codec.RecordError, match="video 17: audio .* NaN"):
        example_codec.encode_video(
            video_id="x",
            audio=audio,
            visual=np.zeros((10, 7, 7, 512)),
            labels=None,
            class_index=0,
            class_name="c",
            event_start=0,
            event_end=10,
            source="t",
            name="video 17",
        )


def test_truncated_shard_is_named(tmp_path):
    _write(str(tmp_path), _videos(np.random.default_rng(5), 6))
    files = pipeline.list_shards(str(tmp_path), "train")
    with open(files[0], "r+b") as f:
        f.truncate(os.path.getsize(files[0]) - 100)
    with pytest.raises(Exception):  # noqa: B017 - DataLossError from the reader
        for _ in pipeline.make_dataset(str(tmp_path), "train", pipeline.InputConfig()):
            pass
    error = pipeline.corrupt_shard_error(files)
    assert error is not None and os.path.basename(files[0]) in str(error)
    kept = pipeline.make_dataset(str(tmp_path), "train", pipeline.InputConfig(skip_corrupt=True))
    assert 0 < sum(int(b["audio"].shape[0]) for b in kept) < 6


@pytest.mark.parametrize("recorded", [True, False], ids=["recorded counts", "counted"])
def test_shuffled_gzip_shards_are_read_whole_and_completely(tmp_path, recorded):
    """Compressed shards cannot be skipped into: shuffling reads whole shards, every record."""
    videos = _videos(np.random.default_rng(2), 9)
    _write(str(tmp_path), videos, compression="GZIP")
    info = load_dataset_info(str(tmp_path))
    files = pipeline.list_shards(str(tmp_path), "train")
    counts = pipeline.recorded_shard_counts(info, "train", files) if recorded else None
    config = pipeline.InputConfig(batch_size=4, shuffle=True, seed=3)
    plan = pipeline.shuffle_plan(files, config, "GZIP", counts)
    assert plan.records == 9 and plan.ranges == len(files) > 1
    records = pipeline.records_dataset(files, config, "GZIP", list(plan.shard_records))
    ids = [v for b in pipeline.batched_features(records, config, plan.buffer_records)
           for v in b["video_id"].numpy()]  # fmt: skip
    assert sorted(v.decode() for v in ids) == sorted(videos)
