"""`ave_extract` as a real process: a folder with a good, a corrupt and a silent video; resume."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from video_fixtures import write_corrupt_file, write_video

from ave_tf.data import schema
from ave_tf.data.dataset_info import DatasetError, load_dataset_info
from ave_tf.data.pipeline import InputConfig, make_dataset
from ave_tf.features.dataset_extraction import check_output_dir, find_videos
from ave_tf.features.extraction import ExtractionConfig
from ave_tf.features.weight_files import WeightsError

# Small but real: random weights (same network cost), 2 frames per 1-s segment.
SMOKE_FLAGS = ["--random_weights", "--frames_per_second=2", "--noprogress"]


def _ave_extract(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ave_tf.bin.ave_extract", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def _read_split(data_dir: str, split: str = "test") -> list[dict]:
    batches = make_dataset(data_dir, split, InputConfig(batch_size=8))
    return [{k: v.numpy() for k, v in batch.items()} for batch in batches]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("extract")
    videos = root / "videos"
    videos.mkdir()
    write_video(str(videos / "good.mp4"), duration=2.0)
    write_corrupt_file(str(videos / "broken.webm"))
    write_video(str(videos / "silent.mkv"), duration=2.0, audio=False)
    annotations = root / "annotations.txt"
    annotations.write_text("Category&VideoID&Quality&StartTime&EndTime\nBark&good&good&1&2\n")
    output = root / "out"
    args = [
        f"--video_dir={videos}",
        f"--output_dir={output}",
        f"--annotations={annotations}",
        *SMOKE_FLAGS,
    ]
    return root, args, _ave_extract(*args)


def test_failed_videos_are_reported_and_the_rest_written(first_run):
    root, _, result = first_run
    output = root / "out"
    assert result.returncode == 2, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert "error: 2 of 3 videos failed; see" in last and "errors.json" in last
    assert "1 extracted, 0 cached, 2 failed; 1 written" in result.stdout

    errors = json.loads((output / "errors.json").read_text())
    failed = {os.path.basename(e["video"]): e["error"] for e in errors["failed"]}
    assert set(failed) == {"broken.webm", "silent.mkv"}
    assert failed["silent.mkv"].endswith("silent.mkv: no audio stream")
    assert "broken.webm: cannot open" in failed["broken.webm"]

    info = load_dataset_info(str(output))
    assert info.source == "extracted" and not info.synthetic
    assert info.splits["test"]["videos"] == 1 and info.splits["test"]["segments"] == 2
    (batch,) = _read_split(str(output))
    assert batch["video_id"].tolist() == [b"good"]
    assert batch["audio"].shape == (1, 2, schema.AUDIO_DIM)
    assert batch["visual"].shape == (1, 2, *schema.VISUAL_SHAPE)
    assert np.abs(batch["visual"]).sum() > 0
    bark = info.class_names.index("Bark")
    assert batch["labels"].tolist() == [[schema.BACKGROUND_CLASS, bark]]  # event [1, 2)
    assert batch["video_label"].tolist() == [bark]


def test_rerun_resumes_from_the_cache(first_run):
    root, args, _ = first_run
    entry = root / "out" / ".features" / "good.npz"
    before = entry.stat().st_mtime_ns
    first = _read_split(str(root / "out"))[0]
    result = _ave_extract(*args)
    assert result.returncode == 2, result.stderr[-3000:]
    # The failed videos are tried again; the good one comes from the cache.
    assert "3 videos: 0 extracted, 1 cached, 2 failed; 1 written" in result.stdout
    assert entry.stat().st_mtime_ns == before
    (batch,) = _read_split(str(root / "out"))
    np.testing.assert_array_equal(batch["visual"], first["visual"])
    np.testing.assert_array_equal(batch["audio"], first["audio"])


def test_missing_weights_fail_in_one_line_before_any_work(tmp_path):
    video = write_video(str(tmp_path / "clip.mp4"), duration=1.0)
    output = tmp_path / "out"
    missing = tmp_path / "vgg19.h5"
    result = _ave_extract(
        f"--video={video}",
        f"--output_dir={output}",
        f"--vgg19_weights={missing}",
        f"--vggish_weights={missing}",
    )
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert f"error: --vgg19_weights: weight file {missing} not found" in last
    assert "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5" in last
    assert not os.path.exists(output / "dataset.json")


def test_no_weight_flags_name_the_first_missing_file():
    with pytest.raises(WeightsError, match="^--vgg19_weights is required"):
        ExtractionConfig().check_weight_files()
    with pytest.raises(WeightsError, match="^--vggish_weights is required"):
        ExtractionConfig(vgg19_weights=__file__).check_weight_files()
    ExtractionConfig(random_weights=True).check_weight_files()


def test_refuses_a_dataset_it_did_not_make(tmp_path):
    (tmp_path / "dataset.json").write_text(json.dumps({"schema_version": 1}))
    with pytest.raises(DatasetError, match="pass --overwrite"):
        check_output_dir(str(tmp_path), overwrite=False)
    check_output_dir(str(tmp_path), overwrite=True)


def test_find_videos(tmp_path):
    for name in ("b.mp4", "a.MKV", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert find_videos(["x.webm"], str(tmp_path)) == [
        "x.webm",
        str(tmp_path / "a.MKV"),
        str(tmp_path / "b.mp4"),
    ]
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="empty holds no video file"):
        find_videos(None, str(tmp_path / "empty"))
    with pytest.raises(DatasetError, match="missing is not a directory"):
        find_videos(None, str(tmp_path / "missing"))
