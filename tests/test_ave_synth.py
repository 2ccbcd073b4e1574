"""The `ave_synth` binary: end to end on a tiny fraction, and its error paths."""

import os
import subprocess
import sys
from unittest import mock

import pytest
from absl import flags

from ave_tf.bin import ave_synth
from ave_tf.data import schema
from ave_tf.data.dataset_info import load_dataset_info

TINY = 0.005


def _run_main(*args):
    """Runs main() with its own FlagValues parsed from `args` (other binaries' flags apart)."""
    flag_values = flags.FlagValues()
    ave_synth.define_flags(flag_values)
    argv = flag_values(["ave_synth", *args])
    with mock.patch.object(ave_synth, "FLAGS", flag_values):
        ave_synth.main(argv)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A dataset written over an older one with --overwrite."""
    out = tmp_path_factory.mktemp("synth")
    stale = out / "train-00000-of-00003.tfrecord"
    stale.write_bytes(b"old")
    (out / schema.DATASET_INFO_FILE).write_text("{}")
    _run_main(
        f"--output_dir={out}", f"--fraction={TINY}", "--seed=3", "--overwrite", "--noprogress"
    )
    return out, stale


def test_writes_a_synthetic_dataset_replacing_the_old_one(written):
    out, stale = written
    info = load_dataset_info(str(out))
    assert info.synthetic and info.source == "synthetic"
    assert info.extra["config"]["seed"] == 3 and info.extra["config"]["fraction"] == TINY
    assert set(info.splits) == set(schema.ALL_SPLITS)
    assert not stale.exists()
    files = sorted(os.listdir(out))
    assert files == sorted(
        [schema.DATASET_INFO_FILE, *sum((s["files"] for s in info.splits.values()), [])]
    )


def test_refuses_an_existing_dataset_without_overwrite(written, capsys):
    out, _ = written
    before = {name: os.path.getmtime(out / name) for name in os.listdir(out)}
    with pytest.raises(SystemExit) as exit_info:
        _run_main(f"--output_dir={out}", f"--fraction={TINY}", "--noprogress")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error:" in err and "--overwrite" in err
    assert {name: os.path.getmtime(out / name) for name in os.listdir(out)} == before


@pytest.mark.parametrize(
    "bad, message",
    [
        ("--fraction=0", "--fraction"),
        ("--fraction=1.5", "--fraction"),
        ("--seed=-2", "--seed"),
        ("--shard_mb=0", "--shard_mb"),
        ("--workers=0", "--workers"),
        ("--output_dir=", "--output_dir"),
    ],
)
def test_bad_flag_values_are_one_line_errors(tmp_path, capsys, bad, message):
    with pytest.raises(SystemExit) as exit_info:
        _run_main(f"--output_dir={tmp_path / 'out'}", "--noprogress", bad)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "out").exists() or not os.listdir(tmp_path / "out")


def test_process_exit_status_and_message(tmp_path):
    """A real process: a bad flag exits 1 with a single line naming it, writing nothing."""
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "ave_tf.bin.ave_synth", f"--output_dir={out}", "--fraction=7"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert errors == [errors[-1]] and "--fraction" in errors[0]
    assert not out.exists()
