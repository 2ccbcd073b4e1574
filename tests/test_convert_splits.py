"""ave_convert's split checks: no video in two splits of one family (train/val/test, or the
*_match ones), overlaps across the families allowed and recorded, and missing order files taken
from ave_tf's copies only for the release they index (else derived, or a one-line error).

Errors are found before TensorFlow is imported, so the binary runs take about a second. Releases
have 2 segments per video, or no feature data at all where they need the 4143 real rows."""

import os

import numpy as np
import pytest
import tensorflow as tf
from fake_release import rewrite_h5, shipped_annotation_rows, write_fake_release
from tensorflow.core.example import example_pb2
from test_convert_bad_input import assert_nothing_written, error_line, release_copy, run_convert

from ave_tf.data import ave_metadata, ave_release, convert, pipeline, schema


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    # Seed 0: test = rows [7, 9, 14, 31], of which only row 31 has an event shorter than the video.
    return write_fake_release(
        str(tmp_path_factory.mktemp("small")), num_videos=40, num_segments=2, num_noisy=0
    )


def _shipped_release(directory, orders, **kwargs):
    """A release with the real 4143 annotation rows and no feature data (reads as zeros)."""
    kwargs.setdefault("annotation_rows", shipped_annotation_rows())
    return write_fake_release(
        str(directory),
        orders=orders,
        num_noisy=0,
        labels_file=False,
        lazy_features=True,
        **kwargs,
    )


def _plan(h5_dir, splits):
    """convert's checks and jobs, without writing (the 4143-row releases have no features)."""
    config = convert.ConvertConfig(str(h5_dir), "unused", splits=tuple(splits))
    release = convert._Release(config.h5_dir)
    try:
        return convert.plan(config, release)
    finally:
        release.close()


def _video_id(release, row) -> str:
    ids = [r[1] for r in release.annotation_rows]
    return ids[row] if ids.count(ids[row]) == 1 else f"{ids[row]}@{row}"


def _order_path(h5_dir, split) -> str:
    return os.path.join(h5_dir, ave_release.order_file_name(split))


def _with_order(base, directory, split, rows) -> str:
    """A copy of `base` whose order file of `split` lists `rows`."""
    name = ave_release.order_file_name(split)
    h5_dir = release_copy(base, directory, [name] if os.path.exists(base.path(name)) else [])
    rewrite_h5(_order_path(h5_dir, split), np.asarray(rows, np.int64), ave_release.ORDER_KEY)
    return h5_dir


def _without(base, directory, *splits) -> str:
    h5_dir = release_copy(base, directory)
    for split in splits:
        os.remove(_order_path(h5_dir, split))
    return h5_dir


def _run(h5_dir, out, via, splits=()):
    """Converts through the binary or the library; returns the one error line / message."""
    if via == "binary":
        flags = [f"--h5_dir={h5_dir}", f"--output_dir={out}"]
        flags += [f"--splits={','.join(splits)}"] if splits else []
        return error_line(run_convert(*flags))
    config = convert.ConvertConfig(h5_dir, str(out), splits=tuple(splits), show_progress=False)
    with pytest.raises((convert.ConvertError, ave_release.ReleaseError)) as raised:
        convert.convert(config)
    message = str(raised.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("via", ["binary", "library"])
def test_leak_inside_the_main_family(small, tmp_path, via):
    shared = sorted(small.orders["train"])[5:7]
    h5_dir = _with_order(small, tmp_path / "release", "val", [*small.orders["val"], *shared])
    out = tmp_path / "out"
    line = _run(h5_dir, out, via)
    assert (
        f"{_order_path(h5_dir, 'train')} and {_order_path(h5_dir, 'val')} both list row "
        f"{shared[0]} ({_video_id(small, shared[0])}): a video may be in only one of "
        "train, val, test"
    ) in line
    assert_nothing_written(out)


@pytest.mark.parametrize("via", ["binary", "library"])
def test_leak_inside_the_match_family(small, tmp_path, via):
    # Row 7 shares its YouTube id with row 4: the error names the record id (id@row).
    assert 7 in small.orders["train_match"]
    rows = [*small.orders["test_match"], 7]
    h5_dir = _with_order(small, tmp_path / "release", "test_match", rows)
    out = tmp_path / "out"
    line = _run(h5_dir, out, via, splits=["test_match"])  # train_match is checked all the same
    assert (
        f"{_order_path(h5_dir, 'train_match')} and {_order_path(h5_dir, 'test_match')} both list "
        "row 7 (yt00004-x_@7): a video may be in only one of train_match, val_match, test_match"
    ) in line
    assert_nothing_written(out)


def test_the_real_families_overlap_by_design():
    rows = {
        **ave_metadata.default_split_orders(),
        **ave_metadata.default_split_orders(match=True),
    }
    assert ave_release.first_leak(rows) is None
    overlaps = ave_release.cross_family_overlaps(rows)
    assert overlaps["train"]["test_match"] == 314 and overlaps["test"]["test_match"] == 36


def test_cross_family_overlap_is_accepted_and_recorded(small, tmp_path):
    notes = []
    config = convert.ConvertConfig(
        small.h5_dir, str(tmp_path), splits=("val", "test_match"), show_progress=False
    )
    info = convert.convert(config, log=notes.append).info
    assert sorted(info.splits) == ["test_match", "val"]
    expected = {
        a: {b: len(np.intersect1d(small.orders[a], small.orders[b])) for b in schema.MATCH_SPLITS}
        for a in schema.SPLITS
    }
    assert info.extra["split_overlaps"] == expected and expected["train"]["train_match"] > 0
    assert any("the *_match splits share annotation rows" in note for note in notes)


def test_shipped_annotations_take_missing_order_files_from_ave_tf(tmp_path):
    shipped = ave_metadata.default_split_orders()
    annotations = shipped_annotation_rows()
    annotations[3] = (*annotations[3][:2], "bad", *annotations[3][3:])  # quality is ignored
    h5_dir = _shipped_release(
        tmp_path / "release",
        {"train": shipped["train"], "test": shipped["test"]},  # no val_order.h5, no *_match
        annotation_rows=annotations,
        annotations_header=True,
    ).h5_dir
    splits = ["train", "val", "test_match", "train_match"]
    jobs, notes, extra = _plan(h5_dir, splits)
    sources = extra["order_sources"]
    assert sources["train"] == _order_path(h5_dir, "train")
    assert [sources[s] for s in splits[1:]] == ["package"] * 3
    match = ave_metadata.default_split_orders(match=True)
    job = {j.split: j for j in jobs}
    assert sorted(job["test_match"].rows) == sorted(match["test_match"])
    assert sorted(job["val"].rows) == sorted(shipped["val"])
    assert extra["split_overlaps"]["train"]["test_match"] == 314
    assert any("no test_order_match.h5" in note and "shipped with ave_tf" in note for note in notes)


def test_shipped_split_leaking_into_a_release_file_is_an_error(tmp_path):
    # A release test_order_match.h5 sharing rows with the shipped train_order_match.h5.
    match = ave_metadata.default_split_orders(match=True)
    leaked = np.sort(match["train_match"])[:3]
    release = _shipped_release(tmp_path / "release", {"test_match": leaked})
    out = tmp_path / "out"
    line = _run(release.h5_dir, out, "binary", splits=["train_match"])
    row = int(leaked[0])
    assert (
        f"the train_order_match.h5 shipped with ave_tf and "
        f"{_order_path(release.h5_dir, 'test_match')} both list row {row} "
        f"({ave_metadata.read_annotations()[row].video_id}"
    ) in line
    assert_nothing_written(out)


def test_other_annotations_derive_missing_match_splits_from_the_release(small, tmp_path):
    h5_dir = _without(small, tmp_path / "release", *schema.MATCH_SPLITS)
    notes = []
    splits = ("test", "train_match", "test_match")
    config = convert.ConvertConfig(
        h5_dir, str(tmp_path / "out"), splits=splits, show_progress=False
    )
    info = convert.convert(config, log=notes.append).info
    sources = info.extra["order_sources"]
    assert sources["train_match"] == "derived from train_order.h5"
    assert sources["test_match"] == "derived from test_order.h5"
    # train_match is train; test_match keeps the test videos with a non-empty event shorter than
    # the video (like the real test_order_match.h5), not the shipped file's rows.
    assert info.splits["train_match"]["videos"] == len(small.orders["train"])
    assert info.splits["test_match"]["videos"] == 1
    written = _annotation_indices(tmp_path / "out", "test_match")
    start, end = small.annotation_rows[31][3:]
    assert written == [31] and 0 < end - start < 2
    assert any("test_match derived from test_order.h5 (1 of 4 videos)" in n for n in notes)
    # Alone (the main family untouched), test_match is derived all the same.
    jobs, notes, extra = _plan(h5_dir, ["test_match"])
    assert extra["order_sources"] == {"test_match": "derived from test_order.h5"}
    assert jobs[0].rows.tolist() == [31] and "split_overlaps" not in extra


def _annotation_indices(data_dir, split) -> list:
    out = []
    for record in tf.data.TFRecordDataset(pipeline.list_shards(str(data_dir), split)):
        context = example_pb2.SequenceExample.FromString(record.numpy()).context.feature
        out.append(context[schema.ANNOTATION_INDEX_KEY].int64_list.value[0])
    return sorted(out)


def test_derived_split_leaking_into_a_release_file_is_an_error(small, tmp_path):
    # train_match derived from train_order.h5 meets the release's own test_order_match.h5.
    h5_dir = _without(small, tmp_path / "release", "train_match", "val_match")
    out = tmp_path / "out"
    line = _run(h5_dir, out, "binary", splits=["test_match"])
    shared = np.intersect1d(small.orders["train"], small.orders["test_match"])
    assert (
        f"train_match (derived from train_order.h5) and {_order_path(h5_dir, 'test_match')} "
        f"both list row {shared[0]} ({_video_id(small, shared[0])})"
    ) in line
    assert_nothing_written(out)


@pytest.mark.parametrize("via", ["binary", "library"])
def test_other_annotations_need_every_main_order_file(small, tmp_path, via):
    h5_dir = _without(small, tmp_path / "release", "val")
    out = tmp_path / "out"
    line = _run(h5_dir, out, via)
    assert (
        f"{_order_path(h5_dir, 'val')}: not found, and the split files shipped with ave_tf do "
        f"not apply: {os.path.join(h5_dir, 'Annotations.txt')} is not the Annotations.txt "
        "shipped with ave_tf"
    ) in line
    assert_nothing_written(out)


def test_a_match_split_without_its_main_split_is_an_error(small, tmp_path):
    h5_dir = _without(small, tmp_path / "release", "test", "test_match")
    line = _run(h5_dir, tmp_path / "out", "library", splits=["test_match"])
    assert line.startswith(
        f"{_order_path(h5_dir, 'test_match')} (nor {_order_path(h5_dir, 'test')}): not found"
    )
