"""End to end through the real binaries: train -> kill -> resume -> eval, and the error paths."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tests.tiny_dataset import write_tiny_dataset

SMALL_MODEL = ["--hidden_size=16", "--batch_size=8", "--progress=false", "--shuffle_buffer=16"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_tiny_dataset(str(tmp_path_factory.mktemp("tiny")))


def _run(module, *args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", f"ave_tf.bin.{module}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _train_args(data_dir, model_dir, epochs, *extra):
    return [f"--data_dir={data_dir}", f"--model_dir={model_dir}", f"--epochs={epochs}"] + (
        SMALL_MODEL + list(extra)
    )


def _checkpoint_values(model_dir):
    reader = tf.train.load_checkpoint(os.path.join(model_dir, "checkpoints"))
    return {
        name: reader.get_tensor(name)
        for name in reader.get_variable_to_shape_map()
        if name.startswith(("model_variables/", "optimizer/"))
    }


def _one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert lines, "expected an error message"
    assert ": error: " in lines[-1]
    return lines[-1]


def test_train_kill_resume_equals_uninterrupted_then_eval(data_dir, tmp_path):
    straight = str(tmp_path / "straight")
    done = _run("ave_train", *_train_args(data_dir, straight, 2))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "best epoch" in done.stdout

    # Same run, killed once its first checkpoint exists, then started again.
    interrupted = str(tmp_path / "interrupted")
    process = subprocess.Popen(
        [sys.executable, "-m", "ave_tf.bin.ave_train", *_train_args(data_dir, interrupted, 2)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 240
    index = os.path.join(interrupted, "checkpoints", "ckpt-1.index")
    while not os.path.exists(index) and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed = _run("ave_train", *_train_args(data_dir, interrupted, 2))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    straight_values = _checkpoint_values(straight)
    resumed_values = _checkpoint_values(interrupted)
    assert straight_values.keys() == resumed_values.keys() and straight_values
    for name, value in straight_values.items():
        np.testing.assert_allclose(resumed_values[name], value, rtol=1e-6, atol=1e-6, err_msg=name)

    # Raising --epochs continues the same run.
    more = _run("ave_train", *_train_args(data_dir, straight, 3))
    assert more.returncode == 0, more.stderr[-2000:]
    assert "Resuming" in more.stdout
    with open(os.path.join(straight, "metrics.jsonl")) as f:
        lines = [json.loads(line) for line in f]
    assert [line["epoch"] for line in lines] == [1, 2, 3]
    # Each line says where the epoch's bookkeeping time went; a save is reported one line late
    # (none before the first epoch, nor before the first epoch of a resumed process).
    for line in lines:
        overhead = line["overhead"]
        assert overhead["validation_seconds"] > 0 and overhead["tensorboard_seconds"] > 0
        # releasing the epoch's input is timed (a tf.data autotuning thread once stalled it)
        assert overhead["release_input_seconds"] >= 0
    assert lines[0]["overhead"]["checkpoint_seconds"] is None
    assert lines[1]["overhead"]["checkpoint_seconds"] > 0
    assert "next_input_seconds" in lines[0]["overhead"]
    assert "next_input_seconds" not in lines[2]["overhead"]  # the last epoch starts none

    output = str(tmp_path / "eval.json")
    evaluated = _run(
        "ave_eval",
        f"--data_dir={data_dir}",
        f"--model_dir={straight}",
        f"--output={output}",
        f"--plots_dir={tmp_path / 'plots'}",
        "--num_plots=2",
    )
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    with open(output) as f:
        result = json.load(f)
    assert 0.0 <= result["accuracy"] <= 1.0
    assert result["num_segments"] == 120  # 12 test videos x 10 segments
    assert set(result["per_class"]) >= {"background"}
    assert all(v is None or 0.0 <= v <= 1.0 for v in result["per_class"].values())
    assert len(result["confusion_matrix"]) == 29
    assert {"precision", "recall"} <= set(result["event_vs_background"])
    pngs = sorted(os.listdir(tmp_path / "plots"))
    assert "confusion_matrix.png" in pngs and sum(p.startswith("attention_") for p in pngs) == 2


def test_parsed_cache_trains_exactly_as_the_memory_cache(data_dir, tmp_path):
    """`--cache=parsed` skips the parse after the first epoch, and nothing else changes."""
    runs = {}
    for cache in ("memory", "parsed"):
        model_dir = str(tmp_path / cache)
        done = _run("ave_train", *_train_args(data_dir, model_dir, 2, f"--cache={cache}"))
        assert done.returncode == 0, done.stderr[-2000:]
        assert f"cached in memory ({cache}), shuffled whole every epoch" in done.stdout
        with open(os.path.join(model_dir, "metrics.jsonl")) as f:
            validation = [json.loads(line)["val"] for line in f if line.strip()]
        runs[cache] = (_checkpoint_values(model_dir), validation)
    (memory, memory_val), (parsed, parsed_val) = runs["memory"], runs["parsed"]
    assert memory_val == parsed_val and memory_val[-1]["accuracy"] is not None
    assert sorted(memory) == sorted(parsed)
    for name, value in memory.items():
        np.testing.assert_array_equal(parsed[name], value, err_msg=name)


def test_model_dir_with_another_configuration_is_refused(data_dir, tmp_path):
    model_dir = str(tmp_path / "run")
    first = _run("ave_train", *_train_args(data_dir, model_dir, 1, "--fusion=dmrn"))
    assert first.returncode == 0, first.stderr[-2000:]
    second = _run("ave_train", *_train_args(data_dir, model_dir, 2, "--fusion=concat"))
    assert second.returncode == 2
    line = _one_line_error(second.stderr)
    assert "different configuration" in line and "fusion" in line


def test_bad_flags_and_bad_data_dir_fail_with_one_line(data_dir, tmp_path):
    bad_flag = _run("ave_train", *_train_args(data_dir, str(tmp_path / "m"), 1, "--fusion=bogus"))
    assert bad_flag.returncode == 2
    assert "--fusion" in _one_line_error(bad_flag.stderr)

    # DMRFE is a late-fusion ensemble only (Table 2): the model config rejects other stages.
    invalid_combination = _run(
        "ave_train", *_train_args(data_dir, str(tmp_path / "m2"), 1, "--fusion=dmrfe",
                                  "--fusion_stage=early")
    )  # fmt: skip
    assert invalid_combination.returncode == 2
    assert "fusion" in _one_line_error(invalid_combination.stderr)

    copy = tmp_path / "old_schema"
    shutil.copytree(data_dir, copy)
    info = json.loads((copy / "dataset.json").read_text())
    info["schema_version"] = 0
    (copy / "dataset.json").write_text(json.dumps(info))
    mismatched = _run("ave_train", *_train_args(str(copy), str(tmp_path / "m3"), 1))
    assert mismatched.returncode == 2
    line = _one_line_error(mismatched.stderr)
    assert "dataset.json" in line and "schema version" in line


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(data_dir, tmp_path, monkeypatch):
    from ave_tf.models.config import ModelConfig
    from ave_tf.training.localization_task import LocalizationTask
    from ave_tf.training.trainer import TrainingError, train
    from tests.experiment_fixtures import make_experiment

    model_config = ModelConfig(task="supervised", modality="av", attention=True, hidden_size=8)
    trainer = {"epochs": 3, "batch_size": 8, "verbose": False, "log_attention_videos": 0}
    experiment = make_experiment(model_config, data_dir, trainer=trainer)
    task = LocalizationTask("supervised", model_config)
    model_dir = str(tmp_path / "nan")
    train(experiment.override({"trainer": {"epochs": 1}}), model_dir, task=task)

    original = task.loss_and_metrics

    def poisoned(batch, outputs):
        loss, correct, count = original(batch, outputs)
        return loss * float("nan"), correct, count

    monkeypatch.setattr(task, "loss_and_metrics", poisoned)
    with pytest.raises(TrainingError, match=r"loss is nan at epoch 2 .*ckpt-1"):
        train(experiment, model_dir, task=task)
    checkpoints = tf.train.get_checkpoint_state(os.path.join(model_dir, "checkpoints"))
    assert checkpoints.model_checkpoint_path.endswith("ckpt-1")


def test_weak_training_uses_video_labels_and_noisy_videos(data_dir, tmp_path):
    model_dir = str(tmp_path / "weak")
    done = _run("ave_train", *_train_args(data_dir, model_dir, 1, "--task=weak"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "val_video_loss" in done.stdout
    with open(os.path.join(model_dir, "best.json")) as f:
        assert json.load(f)["metric"] == "val_video_loss"


def test_drop_remainder_trains_whole_batches_only(data_dir, tmp_path):
    """`data.drop_remainder`: len // batch_size steps per epoch (48 videos, batch 20: 2, not 3);
    a split smaller than one batch is a one-line error, not an epoch of no steps."""
    from ave_tf.models.config import ModelConfig
    from ave_tf.training.localization_task import LocalizationTask
    from ave_tf.training.trainer import train
    from tests.experiment_fixtures import make_experiment

    model_config = ModelConfig(task="supervised", modality="av", attention=True, hidden_size=8)
    trainer = {"epochs": 2, "batch_size": 20, "verbose": False, "log_attention_videos": 0}
    steps = {}
    for drop in (False, True):
        experiment = make_experiment(model_config, data_dir, trainer=trainer)
        experiment = experiment.override({"data": {"drop_remainder": drop}})
        model_dir = str(tmp_path / f"drop_{drop}")
        train(experiment, model_dir, task=LocalizationTask("supervised", model_config))
        reader = tf.train.load_checkpoint(os.path.join(model_dir, "checkpoints"))
        (name,) = [n for n in reader.get_variable_to_shape_map() if "iterations" in n]
        steps[drop] = int(reader.get_tensor(name))
    assert steps == {False: 6, True: 4}

    too_few = _run(
        "ave_train", f"--data_dir={data_dir}", f"--model_dir={tmp_path / 'few'}",
        "--params_override=trainer.epochs=1,trainer.batch_size=64,data.drop_remainder=true",
        "--progress=false",
    )  # fmt: skip
    assert too_few.returncode == 2
    line = _one_line_error(too_few.stderr)
    assert "48 videos, fewer than one batch" in line and "data.drop_remainder=false" in line
    assert not os.path.exists(tmp_path / "few" / "checkpoints")
