"""ave_convert's library: fake h5 release -> shards -> parsed tensors equal the inputs."""

import os

import numpy as np
import pytest
import tensorflow as tf
from fake_release import set_h5_value, write_fake_release
from tensorflow.core.example import example_pb2

from ave_tf.data import ave_metadata, ave_release, convert, pipeline, schema
from ave_tf.data.dataset_info import load_dataset_info


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return write_fake_release(str(tmp_path_factory.mktemp("release")), num_videos=12, num_noisy=3)


def _convert(h5_dir, output_dir, **kwargs):
    notes = []
    config = convert.ConvertConfig(h5_dir, str(output_dir), show_progress=False, **kwargs)
    return convert.convert(config, log=notes.append), notes


def _read_split(data_dir, split):
    """video_id -> parsed features (the one parser) plus the raw record's annotation_index."""
    info = load_dataset_info(str(data_dir))
    files = pipeline.list_shards(str(data_dir), split)
    index = {}
    for record in tf.data.TFRecordDataset(files, compression_type=info.compression):
        proto = example_pb2.SequenceExample.FromString(record.numpy())
        context = proto.context.feature
        index[context[schema.VIDEO_ID_KEY].bytes_list.value[0].decode()] = context[
            schema.ANNOTATION_INDEX_KEY
        ].int64_list.value[0]
    videos = {}
    for batch in pipeline.make_dataset(str(data_dir), split, pipeline.InputConfig(batch_size=8)):
        for j, vid in enumerate(batch["video_id"].numpy()):
            vid = vid.decode()
            videos[vid] = {k: v[j].numpy() for k, v in batch.items() if k != "video_id"}
            videos[vid]["annotation_index"] = index[vid]
    return videos


def _check_main_split(release, videos, split, exact=True):
    rows = release.orders[split]
    assert sorted(v["annotation_index"] for v in videos.values()) == sorted(rows.tolist())
    for vid, got in videos.items():
        row = got["annotation_index"]
        category, youtube_id, _, start, end = release.annotation_rows[row]
        assert vid.split("@")[0] == youtube_id
        expected_visual = release.visual[row].astype(np.float32)
        np.testing.assert_array_equal(got["audio"], release.audio[row].astype(np.float32))
        if exact:
            np.testing.assert_array_equal(got["visual"], expected_visual)
        else:
            np.testing.assert_allclose(got["visual"], expected_visual, rtol=1e-3, atol=1e-3)
        np.testing.assert_array_equal(got["labels"], release.segment_labels[row])
        assert got["video_label"] == ave_metadata.class_index(category)
        assert (got["event_start"], got["event_end"]) == (start, end)
        assert got["num_segments"] == 10


def test_round_trip_equals_the_h5_inputs(release, tmp_path):
    result, notes = _convert(release.h5_dir, tmp_path)
    info = load_dataset_info(str(tmp_path))
    assert set(info.splits) == set(schema.ALL_SPLITS)
    assert result.videos == 12 + 12 + 3
    # The fake match splits are another random partition: overlaps across families are noted.
    assert len(notes) == 1 and "the *_match splits share annotation rows" in notes[0]
    assert info.source == "ave_release" and not info.synthetic and info.visual_dtype == "float32"
    assert info.extra["labels_source"].endswith("labels.h5")
    by_row = {}
    for split in schema.SPLITS + schema.MATCH_SPLITS:
        videos = _read_split(tmp_path, split)
        assert info.splits[split]["videos"] == len(release.orders[split]) == len(videos)
        _check_main_split(release, videos, split)
        if not split.endswith("_match"):
            by_row.update({v["annotation_index"]: vid for vid, v in videos.items()})
    # Duplicated YouTube ids (rows 4 and 7) stay unique; the zero-length row (1) is background
    # throughout (checked against the annotations above).
    assert len(by_row) == 12 == len(set(by_row.values()))
    assert (by_row[4], by_row[7]) == ("yt00004-x_@4", "yt00004-x_@7")
    assert release.annotation_rows[1][3:] == (0, 0)

    noisy = _read_split(tmp_path, schema.NOISY_SPLIT)
    assert sorted(noisy) == ["noisy_0000", "noisy_0001", "noisy_0002"]
    for i, vid in enumerate(sorted(noisy)):
        got = noisy[vid]
        assert got["video_label"] == schema.BACKGROUND_CLASS and got["annotation_index"] == -1
        assert (got["labels"] == schema.BACKGROUND_CLASS).all()
        np.testing.assert_array_equal(got["visual"], release.noisy_visual[i].astype(np.float32))
        np.testing.assert_array_equal(got["audio"], release.noisy_audio[i].astype(np.float32))


def test_float16_gzip_chunked_h5_header_and_labels_from_annotations(tmp_path):
    release = write_fake_release(
        str(tmp_path / "release"),
        num_videos=12,
        num_noisy=0,
        seed=1,
        chunked=True,  # read through h5py instead of the direct byte-offset path
        labels_file=False,
        match_orders=False,
        annotations_header=True,
    )
    annotations = tmp_path / "annotations_with_header.txt"
    os.rename(release.path("Annotations.txt"), annotations)
    out = tmp_path / "out"
    _, notes = _convert(
        release.h5_dir,
        out,
        annotations=str(annotations),
        visual_dtype="float16",
        compression="GZIP",
        shard_bytes=2 << 20,
        chunk_videos=3,
    )
    info = load_dataset_info(str(out))
    assert sorted(info.splits) == ["test", "train", "val"]
    assert info.splits["train"]["shards"] > 1 and info.visual_dtype == "float16"
    assert any(f"labels from {annotations}" in note for note in notes)
    for split in schema.SPLITS:
        _check_main_split(release, _read_split(out, split), split, exact=False)


def test_labels_h5_wins_over_annotations(release, tmp_path):
    row = int(release.orders["val"][0])
    one_hot = np.zeros(schema.NUM_CLASSES, np.float32)
    one_hot[5] = 1
    h5_dir = tmp_path / "release"
    os.makedirs(h5_dir)
    for name in os.listdir(release.h5_dir):
        os.symlink(os.path.join(release.h5_dir, name), h5_dir / name)
    labels_path = h5_dir / ave_release.LABELS_FILE
    os.remove(labels_path)
    with open(os.path.join(release.h5_dir, ave_release.LABELS_FILE), "rb") as src:
        labels_path.write_bytes(src.read())
    set_h5_value(str(labels_path), (row, 0), one_hot)

    _convert(str(h5_dir), tmp_path / "from_labels", splits=("val",))
    (got,) = _read_split(tmp_path / "from_labels", "val").values()
    assert got["labels"][0] == 5
    assert got["labels"][1:].tolist() == release.segment_labels[row][1:].tolist()
    info = load_dataset_info(str(tmp_path / "from_labels"))
    assert info.extra["videos_whose_labels_differ_from_annotations"] == 1

    _convert(str(h5_dir), tmp_path / "asked", splits=("val",), use_labels_file=False)
    os.remove(labels_path)
    _convert(str(h5_dir), tmp_path / "from_annotations", splits=("val",))
    for name in ("asked", "from_annotations"):
        (got,) = _read_split(tmp_path / name, "val").values()
        np.testing.assert_array_equal(got["labels"], release.segment_labels[row])


def test_shipped_and_missing_order_files(tmp_path):
    assert ave_release.read_release_order(str(tmp_path), "test_match", 4143) is None
    rows = ave_release.shipped_order("test_match", 4143)
    shipped = ave_metadata.default_split_orders(match=True)["test_match"]
    np.testing.assert_array_equal(rows, np.sort(shipped))
    with pytest.raises(ave_release.ReleaseError, match="test_order.h5 shipped with ave_tf: index"):
        ave_release.shipped_order("test", 12)


def test_splits_flag_restricts_the_output(release, tmp_path):
    result, _ = _convert(release.h5_dir, tmp_path, splits=("test", "train_noisy"))
    assert sorted(result.info.splits) == ["test", "train_noisy"]
    assert result.videos == len(release.orders["test"]) + 3
