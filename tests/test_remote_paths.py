"""data_dir and model_dir on a file system that is not the local one, through tf.io.gfile.

TensorFlow's in-memory file system (`ram://`, one per process) stands in for gs:// or s3://:
the same gfile calls, no network. A local call left on either path would fail here, or
quietly create a local folder named `ram:` in the working directory (both are checked).
"""

import json
import os

import pytest
import tensorflow as tf

from ave_tf.models.config import ModelConfig
from ave_tf.training import model_io, run_dir
from ave_tf.training.trainer import train
from ave_tf.utils import atomic_files, file_io
from tests.experiment_fixtures import make_experiment
from tests.tiny_dataset import write_tiny_dataset

DATA, RUN = "ram://remote-test/data", "ram://remote-test/run"


@pytest.fixture
def remote_data(tmp_path):
    local = write_tiny_dataset(str(tmp_path / "tiny"))
    tf.io.gfile.makedirs(DATA)
    for name in os.listdir(local):
        tf.io.gfile.copy(os.path.join(local, name), f"{DATA}/{name}")
    yield DATA
    tf.io.gfile.rmtree("ram://remote-test")


def _metrics(model_dir):
    lines = file_io.read_text(f"{model_dir}/metrics.jsonl").splitlines()
    return [json.loads(line) for line in lines]


def test_training_reads_and_writes_through_gfile(remote_data, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # a stray os call on "ram://..." would create ./ram:/...
    model = ModelConfig(task="supervised", modality="av", attention=True, hidden_size=8)
    trainer = {"epochs": 2, "batch_size": 8, "verbose": False, "log_attention_videos": 0}
    experiment = make_experiment(model, remote_data, trainer=trainer, data={"shuffle_buffer": 16})
    result = train(experiment.override({"trainer": {"epochs": 1}}), RUN)
    assert result.epochs_run == 1

    # A second start resumes from the remote checkpoint and appends to the remote metrics.
    result = train(experiment, RUN)
    assert "Resuming from ram://remote-test/run/checkpoints/ckpt-1" in capsys.readouterr().out
    assert result.epochs_run == 1 and [m["epoch"] for m in _metrics(RUN)] == [1, 2]
    for name in ("params.yaml", "best.json", "best.weights.h5", "checkpoints/checkpoint"):
        assert tf.io.gfile.exists(f"{RUN}/{name}"), name
    assert tf.io.gfile.glob(f"{RUN}/train/events.out.tfevents.*")
    assert not tf.io.gfile.glob(f"{RUN}/.tmp-*")

    # ave_eval and ave_export rebuild the model from the remote params.yaml and weights.
    trained, restored = model_io.load_trained_experiment(RUN)
    assert restored.to_dict() == experiment.to_dict()
    assert trained.count_params() > 0
    assert os.listdir(tmp_path) == ["tiny"]


def test_remote_errors_are_os_errors_naming_the_file():
    missing = "ram://remote-test-missing/params.yaml"
    with pytest.raises(OSError, match="remote-test-missing/params.yaml"):
        file_io.read_text(missing)
    with pytest.raises(run_dir.RunDirError, match="not found"):
        run_dir.read_experiment("ram://remote-test-missing")


def test_atomic_writes_to_a_remote_path_replace_the_file():
    path = "ram://remote-test-atomic/dir/value.json"
    file_io.makedirs("ram://remote-test-atomic/dir")
    atomic_files.write_json_atomic(path, {"a": 1})
    atomic_files.write_json_atomic(path, {"a": 2})
    assert json.loads(file_io.read_text(path)) == {"a": 2}
    assert tf.io.gfile.listdir("ram://remote-test-atomic/dir") == ["value.json"]
    file_io.rmtree("ram://remote-test-atomic")
    assert not file_io.exists(path)
