"""ave_convert on bad input, through the real binary: exit 2, one error line naming the
file/key/row, and nothing written. These inputs are caught before TensorFlow is imported, so each
child process takes about a second."""

import os
import re
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest
from fake_release import rewrite_h5, set_h5_value, write_fake_release

from ave_tf.data import ave_release

_ERROR_LINE = re.compile(r"^ave_convert(\.py)?: error: ")


def convert_command() -> list[str]:
    """The installed console script, else the module (same code)."""
    script = os.path.join(os.path.dirname(sys.executable), "ave_convert")
    if os.path.exists(script):
        return [script]
    return [sys.executable, "-m", "ave_tf.bin.ave_convert"]


def run_convert(*flags: str, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    return subprocess.run(
        [*convert_command(), "--noprogress", *flags],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        **kwargs,
    )


def error_line(result: subprocess.CompletedProcess) -> str:
    """The one error line, which must end stderr; the exit code must be 2."""
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    errors = [line for line in result.stderr.splitlines() if _ERROR_LINE.match(line)]
    assert len(errors) == 1, result.stderr[-2000:]
    assert result.stderr.rstrip().endswith(errors[0])
    return errors[0]


def assert_nothing_written(output_dir) -> None:
    assert not os.path.exists(output_dir) or os.listdir(output_dir) == []


@pytest.fixture(scope="module")
def base_release(tmp_path_factory):
    return write_fake_release(str(tmp_path_factory.mktemp("base")), num_videos=12, num_noisy=2)


def release_copy(base, directory, own=()) -> str:
    """A release folder linking to `base`'s files, with real copies of the files in `own`."""
    os.makedirs(directory)
    for name in os.listdir(base.h5_dir):
        source = os.path.join(base.h5_dir, name)
        if name in own:
            shutil.copy(source, os.path.join(directory, name))
        else:
            os.symlink(source, os.path.join(directory, name))
    return str(directory)


def _rename_key(h5_dir):
    path = os.path.join(h5_dir, ave_release.VISUAL_FILE)
    with h5py.File(path, "r+") as f:
        f.move(ave_release.FEATURE_KEY, "features")


def _wrong_shape(h5_dir):
    rewrite_h5(os.path.join(h5_dir, ave_release.AUDIO_FILE), np.zeros((12, 10, 64)))


def _fewer_audio_rows(h5_dir):
    rewrite_h5(os.path.join(h5_dir, ave_release.AUDIO_FILE), np.zeros((11, 10, 128)))


def _order_out_of_range(h5_dir):
    path = os.path.join(h5_dir, "train_order.h5")
    rewrite_h5(path, np.array([0, 12, 3], np.int64), key=ave_release.ORDER_KEY)


def _bad_one_hot(h5_dir):
    set_h5_value(os.path.join(h5_dir, ave_release.LABELS_FILE), (3, 2), np.zeros(29))


def _short_annotations(h5_dir):
    path = os.path.join(h5_dir, ave_release.ANNOTATIONS_FILE)
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines[:-1])


def _truncated_visual(h5_dir):
    path = os.path.join(h5_dir, ave_release.VISUAL_FILE)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


def _no_annotations(h5_dir):
    os.remove(os.path.join(h5_dir, ave_release.ANNOTATIONS_FILE))


def _string_features(h5_dir):
    rewrite_h5(os.path.join(h5_dir, ave_release.AUDIO_FILE), np.full((12, 10, 128), b"x"))


# case -> (files the mutation changes, mutation, regex the error line must match)
CASES = {
    "missing_key": (
        [ave_release.VISUAL_FILE],
        _rename_key,
        r"visual_feature\.h5: missing key 'avadataset' \(keys: \['features'\]\)",
    ),
    "wrong_shape": (
        [ave_release.AUDIO_FILE],
        _wrong_shape,
        r"audio_feature\.h5: 'avadataset' has shape \(12, 10, 64\), expected \(N, T, 128\)",
    ),
    "audio_visual_row_mismatch": (
        [ave_release.AUDIO_FILE],
        _fewer_audio_rows,
        r"audio_feature\.h5 has 11 videos but \S*visual_feature\.h5 has 12",
    ),
    "annotation_row_mismatch": (
        [ave_release.ANNOTATIONS_FILE],
        _short_annotations,
        r"audio_feature\.h5 has 12 videos but \S*Annotations\.txt has 11 annotation rows",
    ),
    "shipped_annotations_do_not_match": (
        [],
        _no_annotations,  # then the 4143-row Annotations.txt shipped with ave_tf is used
        r"audio_feature\.h5 has 12 videos but \S*ave_meta/Annotations\.txt has 4143 annotation",
    ),
    "string_features": (
        [ave_release.AUDIO_FILE],
        _string_features,
        r"audio_feature\.h5: 'avadataset' has dtype \|S1, expected floats",
    ),
    "order_out_of_range": (
        ["train_order.h5"],
        _order_out_of_range,
        r"train_order\.h5: index 12 at position 1 is out of range \(the release has 12 videos\)",
    ),
    "labels_not_one_hot": (
        [ave_release.LABELS_FILE],
        _bad_one_hot,
        r"labels\.h5: row 3 segment 2 is not a valid one-hot label \(sum 0.*--nolabels_h5",
    ),
    "truncated_h5": (
        [ave_release.VISUAL_FILE],
        _truncated_visual,
        r"visual_feature\.h5: cannot open as HDF5: .*truncated",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_release_fails_naming_the_file(base_release, tmp_path, case):
    own, mutate, expected = CASES[case]
    h5_dir = release_copy(base_release, tmp_path / "release", own)
    mutate(h5_dir)
    out = tmp_path / "out"
    line = error_line(run_convert(f"--h5_dir={h5_dir}", f"--output_dir={out}"))
    assert re.search(expected, line), line
    assert_nothing_written(out)


def test_empty_glob(tmp_path):
    (tmp_path / "release").mkdir()
    (tmp_path / "release" / "notes.txt").write_text("no h5 here")
    out = tmp_path / "out"
    line = error_line(run_convert(f"--h5_dir={tmp_path / 'release'}", f"--output_dir={out}"))
    assert re.search(r"release/\*\.h5: matches no files", line), line
    assert_nothing_written(out)


def test_unknown_split_and_missing_flag(base_release, tmp_path):
    out = tmp_path / "out"
    line = error_line(
        run_convert(f"--h5_dir={base_release.h5_dir}", f"--output_dir={out}", "--splits=val,tst")
    )
    assert "--splits: unknown split(s) ['tst']" in line
    assert "--output_dir is required" in error_line(run_convert(f"--h5_dir={out}"))
    assert_nothing_written(out)


def test_existing_dataset_is_refused_untouched(base_release, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "dataset.json").write_text("{}")
    (out / "train-00000-of-00001.tfrecord").write_bytes(b"old")
    line = error_line(run_convert(f"--h5_dir={base_release.h5_dir}", f"--output_dir={out}"))
    assert f"{out}: already holds a dataset; pass --overwrite" in line
    assert sorted(os.listdir(out)) == ["dataset.json", "train-00000-of-00001.tfrecord"]
    assert (out / "train-00000-of-00001.tfrecord").read_bytes() == b"old"
