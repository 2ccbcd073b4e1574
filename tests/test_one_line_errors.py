"""Every failure of a binary is one line on stderr: exit 2 for expected failures (naming the
flag, file or record), 1 plus --verbose for bugs, 128 + N for signals; training runs survive
failures, kills and signals with a usable model_dir and no temporary files left behind.

Failures the tests cannot cause for real (a full disk, a signal mid-save) are planted in the
child process by a few lines of patching run before the binary (`_run_patched`)."""

import errno
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
import tensorflow as tf

from ave_tf.data import parser, pipeline, schema
from ave_tf.utils import errors
from ave_tf.utils.atomic_files import write_json_atomic
from tests.tiny_dataset import write_tiny_dataset

TRAIN = ["--epochs=1", "--hidden_size=8", "--batch_size=8", "--progress=false",
         "--shuffle_buffer=16"]  # fmt: skip
_ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
# Start-up chatter of TensorFlow's C++ runtime and absl that no flag silences.
_NOISE = ("WARNING: All log messages before absl::InitializeLog()", "I0000 ", "W0000 ", "E0000 ",
          "To enable the following instructions")  # fmt: skip


def _command(name: str, flags, patch: str = "") -> list[str]:
    if not patch:
        return [sys.executable, "-m", f"ave_tf.bin.{name}", *flags]
    code = (
        f"import runpy, sys\n{patch}\n"
        f"sys.argv = [{name + '.py'!r}] + {list(flags)!r}\n"
        f"runpy.run_module('ave_tf.bin.{name}', run_name='__main__')\n"
    )
    return [sys.executable, "-c", code]


def _run(name: str, *flags: str, patch: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        _command(name, flags, patch), capture_output=True, text=True, timeout=300, env=_ENV
    )


def _lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith(_NOISE)]


def _error(result: subprocess.CompletedProcess, name: str, code: int = 2) -> str:
    """The one line of stderr; the exit code must be `code`."""
    lines = _lines(result.stderr)
    assert result.returncode == code, (result.returncode, result.stderr[-3000:])
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith(f"{name}.py: "), lines[0]
    return lines[0]


def _leftovers(model_dir) -> list[str]:
    patterns = (".tmp-*", "checkpoints/*_temp", "checkpoints/checkpoint.tmp*")
    return [p for pattern in patterns for p in glob.glob(os.path.join(model_dir, pattern))]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_tiny_dataset(str(tmp_path_factory.mktemp("tiny")))


def _damaged_copy(data_dir, directory, edit) -> str:
    """A copy of the dataset whose first train shard has record 1 edited (a SequenceExample)."""
    copy = shutil.copytree(data_dir, directory)
    path = sorted(glob.glob(os.path.join(copy, "train-*.tfrecord")))[0]
    records = [r.numpy() for r in tf.data.TFRecordDataset(path)]
    example = tf.train.SequenceExample.FromString(records[1])
    edit(example.feature_lists.feature_list)
    records[1] = example.SerializeToString()
    with tf.io.TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record)
    return path


def _truncate_float16_map(lists):
    row = lists[schema.VISUAL_F16_KEY].feature[2].bytes_list
    row.value[0] = row.value[0][:1000]


def _shorten_audio(lists):
    del lists[schema.AUDIO_KEY].feature[0].float_list.value[10:]


@pytest.mark.parametrize(
    "edit, message",
    [
        (_truncate_float16_map, "float16 visual map is truncated or damaged"),
        (_shorten_audio, "Feature list 'audio' has an unexpected number of values"),
    ],
)
def test_a_damaged_record_is_named_by_shard_and_index(data_dir, tmp_path, edit, message):
    shard = _damaged_copy(data_dir, tmp_path / "data", edit)
    line = _error(_run("ave_train", f"--data_dir={tmp_path / 'data'}",
                       f"--model_dir={tmp_path / 'run'}", *TRAIN), "ave_train")  # fmt: skip
    assert f"{shard}: record 1 cannot be parsed" in line and message in line


def test_truncated_float16_map_is_an_error_not_zeros(data_dir, tmp_path):
    shard = _damaged_copy(data_dir, tmp_path / "data", _truncate_float16_map)
    records = [r.numpy() for r in tf.data.TFRecordDataset(shard)]
    parser.parse_batch(records[:1])  # an intact record parses
    with pytest.raises(tf.errors.InvalidArgumentError, match="truncated or damaged"):
        parser.parse_batch(records[:2])
    path, index, error = pipeline.first_unparsable_record([shard])
    assert (path, index) == (shard, 1)
    # tf.data's multi-line wrapping is reduced to the assertion's own message.
    assert errors.expected_message(error) == (
        f"a float16 visual map is truncated or damaged (not {schema.VISUAL_DIM * 2} bytes)"
    )


def test_a_folder_named_like_a_shard_and_a_model_dir_under_a_file(data_dir, tmp_path):
    copy = shutil.copytree(data_dir, tmp_path / "data")
    shard = sorted(glob.glob(os.path.join(copy, "train-*.tfrecord")))[0]
    os.remove(shard)
    os.mkdir(shard)
    line = _error(_run("ave_train", f"--data_dir={copy}", f"--model_dir={tmp_path / 'a'}",
                       *TRAIN), "ave_train")  # fmt: skip
    assert shard in line and "Is a directory" in line

    (tmp_path / "file").write_text("")
    model_dir = tmp_path / "file" / "run"
    line = _error(
        _run("ave_train", f"--data_dir={data_dir}", f"--model_dir={model_dir}", *TRAIN), "ave_train"
    )
    assert f"{model_dir}: a parent of it is a file" in line


_FULL_DISK = """
import shutil
_usage = shutil.disk_usage
shutil.disk_usage = lambda path: _usage(path)._replace(free=0)
"""
_KILL_AT_SECOND_CHECKPOINT = """
import os, signal
import tensorflow as tf
_save = tf.train.CheckpointManager.save
def save(self, checkpoint_number=None, **kwargs):
    if checkpoint_number == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return _save(self, checkpoint_number=checkpoint_number, **kwargs)
tf.train.CheckpointManager.save = save
"""


def _metric_epochs(model_dir) -> list[int]:
    with open(os.path.join(model_dir, "metrics.jsonl")) as f:
        return [json.loads(line)["epoch"] for line in f]


@pytest.mark.slow  # three training runs
def test_full_disk_then_kill_then_resume_leave_a_usable_model_dir(data_dir, tmp_path):
    model_dir = str(tmp_path / "run")
    flags = [f"--data_dir={data_dir}", f"--model_dir={model_dir}", *TRAIN]
    full = _run("ave_train", *flags, patch=_FULL_DISK)
    line = _error(full, "ave_train")
    assert f"{model_dir}/best.weights.h5: the disk is full" in line
    assert _leftovers(model_dir) == [] and os.path.exists(f"{model_dir}/params.yaml")

    # The failed run finished no epoch: another configuration may take its model_dir.
    flags += ["--epochs=2", "--hidden_size=16"]
    killed = _run("ave_train", *flags, patch=_KILL_AT_SECOND_CHECKPOINT)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert _metric_epochs(model_dir) == [1, 2]  # on disk before the checkpoint that died
    assert tf.train.latest_checkpoint(f"{model_dir}/checkpoints").endswith("ckpt-1")

    stale = [f"{model_dir}/.tmp-best.weights.h5", f"{model_dir}/checkpoints/ckpt-2_temp"]
    open(stale[0], "w").close()
    os.mkdir(stale[1])
    resumed = _run("ave_train", *flags)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resuming from" in resumed.stdout
    assert _metric_epochs(model_dir) == [1, 2]  # epoch 2 redone, its line written once
    assert _leftovers(model_dir) == []


_SLOW_SAVE = """
import pathlib, time, keras
def save_weights(self, path, *args, **kwargs):
    pathlib.Path(path).write_bytes(b"half an h5 file")
    time.sleep(120)
keras.Model.save_weights = save_weights
"""


def test_sigterm_mid_save_removes_the_temporary_file(data_dir, tmp_path):
    model_dir = tmp_path / "run"
    command = _command("ave_train", [f"--data_dir={data_dir}", f"--model_dir={model_dir}",
                                     *TRAIN], _SLOW_SAVE)  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=_ENV)
    deadline = time.monotonic() + 240
    while not _leftovers(model_dir):
        assert process.poll() is None and time.monotonic() < deadline, "no save started"
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    assert _lines(stderr) == ["ave_train.py: stopped by SIGTERM"]
    assert _leftovers(model_dir) == []


_BUG = """
import ave_tf.data.convert as convert
def crash(*args, **kwargs):
    return {}["no such key"]
convert.convert = crash
"""


def test_a_bug_is_one_line_and_verbose_shows_the_traceback(tmp_path):
    flags = [f"--h5_dir={tmp_path}", f"--output_dir={tmp_path / 'out'}"]
    line = _error(_run("ave_convert", *flags, patch=_BUG), "ave_convert", code=1)
    assert line == (
        "ave_convert.py: internal error: KeyError: 'no such key' "
        "(rerun with --verbose for the traceback)"
    )
    verbose = _run("ave_convert", *flags, "--verbose", patch=_BUG)
    assert verbose.returncode == 1
    assert "Traceback (most recent call last)" in verbose.stderr and "crash" in verbose.stderr
    assert _lines(verbose.stderr)[-1] == "ave_convert.py: internal error: KeyError: 'no such key'"


def test_usage_and_output_errors_are_one_line(tmp_path):
    line = _error(_run("ave_export", f"--export_base={tmp_path}"), "ave_export")
    assert line == "ave_export.py: error: --model_dir is required"
    (tmp_path / "file").write_text("")
    line = _error(_run("ave_synth", f"--output_dir={tmp_path / 'file' / 'out'}"), "ave_synth")
    assert line == f"ave_synth.py: error: {tmp_path / 'file' / 'out'}: a parent of it is a file, "\
        "not a directory: check the path"  # fmt: skip


def test_os_errors_name_the_file_and_what_to_do():
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/data/run/best.weights.h5")
    assert errors.expected_message(full) == (
        "/data/run/best.weights.h5: the disk is full: free some space or choose another "
        "location, then rerun"
    )
    read_only = PermissionError(errno.EROFS, "Read-only file system", "/mnt/ro/run")
    assert errors.expected_message(read_only) == "/mnt/ro/run: read-only file system: choose "\
        "another location"  # fmt: skip
    assert errors.expected_message(KeyError("bug")) is None  # not ours: an internal error


def test_writing_onto_a_pipe_writes_through_it_instead_of_replacing_it(tmp_path):
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(open(fifo).read()))
    reader.start()
    write_json_atomic(fifo, {"a": 1.0})
    reader.join(timeout=10)
    assert json.loads(received[0]) == {"a": 1.0}
    assert not os.path.isfile(fifo)  # still the pipe
