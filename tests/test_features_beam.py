"""The optional Beam extraction pipeline on the DirectRunner (skipped without apache-beam).

`make test-beam` runs these in a virtual environment with apache-beam (constraints-beam.txt).
"""

import json

import numpy as np
import pytest
from video_fixtures import write_corrupt_file, write_video

from ave_tf.data import schema
from ave_tf.data.dataset_info import load_dataset_info
from ave_tf.data.pipeline import InputConfig, make_dataset
from ave_tf.features.extraction import ExtractionConfig

pytestmark = pytest.mark.beam
beam = pytest.importorskip("apache_beam")

from ave_tf.features import beam_pipeline  # noqa: E402


def test_direct_runner_writes_the_dataset_and_reports_failures(tmp_path):
    videos = [
        write_video(str(tmp_path / "one.mp4"), duration=2.0),
        write_video(str(tmp_path / "two.webm"), duration=1.0),
        write_corrupt_file(str(tmp_path / "bad.mkv")),
    ]
    output = tmp_path / "out"
    result = beam_pipeline.run_pipeline(
        videos,
        str(output),
        ExtractionConfig(random_weights=True, frames_per_second=1),
        num_shards=2,
        pipeline_args=["--runner=DirectRunner"],
    )
    assert (result.videos, result.segments, result.failed) == (2, 3, 1)
    errors = [json.loads(line) for line in (output / "errors.jsonl").read_text().splitlines()]
    assert [e["video"] for e in errors] == [videos[2]]
    assert "bad.mkv: cannot open" in errors[0]["error"]

    info = load_dataset_info(str(output))
    assert info.splits["test"]["files"] == [
        "test-00000-of-00002.tfrecord",
        "test-00001-of-00002.tfrecord",
    ]
    assert not [p.name for p in output.iterdir() if p.name.startswith(".staging")]
    batches = list(make_dataset(str(output), "test", InputConfig(batch_size=4)))
    ids = sorted(i for b in batches for i in b["video_id"].numpy().tolist())
    assert ids == [b"one", b"two"]
    segments = sorted(int(n) for b in batches for n in b["num_segments"].numpy())
    assert segments == [1, 2]
    visual = np.concatenate(
        [b["visual"].numpy().reshape(-1, *schema.VISUAL_SHAPE) for b in batches]
    )
    assert np.abs(visual).sum() > 0


def test_cli_entry_point_fails_in_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code = beam_pipeline.main(
        ["--video_dir", str(tmp_path / "empty"), "--output_dir", str(tmp_path)]
    )
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("beam_pipeline: error: --video_dir:") and "\n" not in err
    assert "empty holds no video file" in err


def test_worker_processes_run_the_pickled_extraction_as_a_cluster_would(tmp_path):
    """Dataflow, Flink and Spark pickle the DoFn and run it in other processes: the
    DirectRunner's multi_processing mode does the same with two local worker processes."""
    videos = [write_video(str(tmp_path / f"clip{i}.mp4"), duration=1.0) for i in range(3)]
    output = tmp_path / "out"
    result = beam_pipeline.run_pipeline(
        videos,
        str(output),
        ExtractionConfig(random_weights=True, frames_per_second=1),
        num_shards=1,
        pipeline_args=[
            "--runner=DirectRunner",
            "--direct_running_mode=multi_processing",
            "--direct_num_workers=2",
        ],
    )
    # The counters come back from the worker processes, the records from their shards.
    assert (result.videos, result.segments, result.failed) == (3, 3, 0)
    batches = make_dataset(str(output), "test", InputConfig(batch_size=8))
    ids = sorted(i for b in batches for i in b["video_id"].numpy().tolist())
    assert ids == [b"clip0", b"clip1", b"clip2"]
