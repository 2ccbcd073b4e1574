"""ave_convert end to end: the binary's happy path and --overwrite, errors found while writing
(NaN/Inf features, float16 overflow, a full disk), and corrupt shards met by the input pipeline.

Each child process here imports TensorFlow (~10-20 s on a busy machine), so the binary runs of
the write-time errors are marked slow; their in-process twins always run."""

import os
import resource
import signal

import numpy as np
import pytest
import tensorflow as tf
from fake_release import set_h5_value, write_fake_release
from test_convert_bad_input import assert_nothing_written, error_line, release_copy, run_convert

from ave_tf.data import ave_release, convert, pipeline, write_order
from ave_tf.data.dataset_info import DatasetError, load_dataset_info


@pytest.fixture(scope="module")
def base_release(tmp_path_factory):
    return write_fake_release(str(tmp_path_factory.mktemp("base")), num_videos=12, num_noisy=2)


def test_binary_replaces_a_dataset_only_with_overwrite(base_release, tmp_path):
    out = tmp_path / "out"
    convert.convert(
        convert.ConvertConfig(base_release.h5_dir, str(out), splits=("val",), show_progress=False)
    )
    again = [f"--h5_dir={base_release.h5_dir}", f"--output_dir={out}", "--splits=test,train_noisy"]
    line = error_line(run_convert(*again, "--visual_dtype=float16"))
    assert "already holds a dataset; pass --overwrite" in line
    assert load_dataset_info(str(out)).splits["val"]["videos"] == 1

    replaced = run_convert(*again, "--visual_dtype=float16", "--overwrite", "--seed=3")
    assert replaced.returncode == 0, replaced.stderr[-2000:]
    assert "test: 1 videos in 1 shard(s)" in replaced.stdout and "MiB/s" in replaced.stdout
    info = load_dataset_info(str(out))
    assert sorted(info.splits) == ["test", "train_noisy"] and info.visual_dtype == "float16"
    assert info.extra["write_order"]["seed"] == 3
    assert sorted(os.listdir(out)) == sorted(
        ["dataset.json", "test-00000-of-00001.tfrecord", "train_noisy-00000-of-00001.tfrecord"]
    )


@pytest.mark.slow
def test_nan_features_fail_the_binary_naming_the_video_index(base_release, tmp_path):
    h5_dir = release_copy(base_release, tmp_path / "release", [ave_release.VISUAL_FILE])
    rows = np.sort(base_release.orders["train"])
    row = int(rows[write_order.permutation(len(rows), "train", 0)][5])  # written in chunk 2 of 4
    set_h5_value(os.path.join(h5_dir, ave_release.VISUAL_FILE), (row, 9, 6, 6, 511), np.nan)
    out = tmp_path / "out"
    line = error_line(run_convert(f"--h5_dir={h5_dir}", f"--output_dir={out}", "--chunk_videos=4"))
    assert f"visual_feature.h5: video index {row} (" in line and "NaN or Inf" in line
    assert_nothing_written(out)


def _limit_file_size():
    # Writes past the limit fail with EFBIG, as a full disk fails with ENOSPC.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (3 << 20, 3 << 20))


@pytest.mark.slow
def test_disk_full_mid_write_fails_the_binary_leaving_no_shards(base_release, tmp_path):
    out = tmp_path / "out"
    result = run_convert(
        f"--h5_dir={base_release.h5_dir}", f"--output_dir={out}", preexec_fn=_limit_file_size
    )
    line = error_line(result)
    assert f"{out}: writing shards failed: " in line and "File too large" in line
    assert_nothing_written(out)


def test_disk_full_mid_write_leaves_no_shards(base_release, tmp_path):
    """The same as the binary test above, in this process: the limit is lowered, then restored."""
    out = tmp_path / "out"
    config = convert.ConvertConfig(base_release.h5_dir, str(out), show_progress=False)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (3 << 20, hard))
    try:
        with pytest.raises(convert.ConvertError, match="writing shards failed: .*too large"):
            convert.convert(config)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    assert_nothing_written(out)


@pytest.mark.parametrize(
    "name, index, value, dtype, expected",
    [
        (ave_release.AUDIO_FILE, (2, 0, 5), np.inf, "float32", "has NaN or Inf"),
        (ave_release.VISUAL_FILE, (2, 9, 6, 6, 511), np.nan, "float16", "has NaN or Inf"),
        (ave_release.VISUAL_FILE, (2, 3, 0, 0, 0), 7e4, "float16", "beyond float16 range"),
    ],
)
def test_bad_values_name_file_and_video_index(
    base_release, tmp_path, name, index, value, dtype, expected
):
    h5_dir = release_copy(base_release, tmp_path / "release", [name])
    set_h5_value(os.path.join(h5_dir, name), index, value)
    out = tmp_path / "out"
    config = convert.ConvertConfig(h5_dir, str(out), visual_dtype=dtype, show_progress=False)
    with pytest.raises(ave_release.ReleaseError, match=f"{name}: video index 2 .*{expected}"):
        convert.convert(config)
    assert_nothing_written(out)


def test_corrupt_shard_is_named_or_skipped(base_release, tmp_path):
    # One video per shard, so a corrupt shard costs exactly one video when skipped.
    config = convert.ConvertConfig(
        base_release.h5_dir, str(tmp_path), splits=("train",), shard_bytes=1, show_progress=False
    )
    convert.convert(config)
    files = pipeline.list_shards(str(tmp_path), "train")
    assert len(files) == len(base_release.orders["train"])
    with open(files[3], "r+b") as f:
        f.seek(500_000)
        byte = f.read(1)
        f.seek(500_000)
        f.write(bytes([byte[0] ^ 0xFF]))

    with pytest.raises(tf.errors.DataLossError):
        for _ in pipeline.make_dataset(str(tmp_path), "train", pipeline.InputConfig()):
            pass
    error = pipeline.corrupt_shard_error(files)
    assert isinstance(error, DatasetError) and os.path.basename(files[3]) in str(error)
    assert "--skip_corrupt" in str(error)
    skipping = pipeline.InputConfig(batch_size=4, skip_corrupt=True)
    kept = sum(len(b["video_id"]) for b in pipeline.make_dataset(str(tmp_path), "train", skipping))
    assert kept == len(files) - 1
