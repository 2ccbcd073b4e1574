"""Undefined metrics (nothing to divide by) never crash: JSON null, no TensorBoard tag, "n/a"."""

import contextlib
import glob
import io
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.tiny_dataset import write_tiny_dataset

BACKGROUND = 28


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_tiny_dataset(str(tmp_path_factory.mktemp("tiny")))


def _background_task():
    """A tiny audio model whose classifier bias makes it predict background everywhere."""
    from ave_tf.models.config import ModelConfig
    from ave_tf.training.localization_task import LocalizationTask

    model_config = ModelConfig(task="supervised", modality="audio", hidden_size=8)
    task = LocalizationTask("supervised", model_config)
    build = task.build_model

    def build_background_model(use_cudnn="auto"):
        model = build(use_cudnn)
        bias = np.zeros([model_config.num_classes], np.float32)
        bias[BACKGROUND] = 1e3  # Adam's steps of ~1e-3 cannot undo it in two epochs
        model.get_layer("classifier").bias.assign(bias)
        return model

    task.build_model = build_background_model
    return task, model_config


def _train(task, model_config, data_dir, model_dir, **train_fields):
    from ave_tf.training.trainer import train
    from tests.experiment_fixtures import make_experiment

    trainer = {"epochs": 2, "batch_size": 8, "max_steps_per_epoch": 1, "log_attention_videos": 0}
    experiment = make_experiment(
        model_config,
        data_dir,
        task=task.task,
        trainer={**trainer, **train_fields},
        data={"shuffle_buffer": 8},
    )
    return train(experiment, model_dir, task=task)


def _metrics_lines(model_dir):
    with open(os.path.join(model_dir, "metrics.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _val_tags(model_dir):
    tags = set()
    for path in glob.glob(os.path.join(model_dir, "val", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    return tags


@pytest.fixture(scope="module")
def background_run(data_dir, tmp_path_factory):
    """(model_dir, TrainResult, printed text) of a run that never predicts an event."""
    task, model_config = _background_task()
    model_dir = str(tmp_path_factory.mktemp("background"))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = _train(task, model_config, data_dir, model_dir, verbose=True)
    return model_dir, result, printed.getvalue()


def test_background_only_predictions_train_to_the_end(background_run):
    model_dir, result, printed = background_run
    assert result.epochs_run == 2 and result.best_epoch == 1
    lines = _metrics_lines(model_dir)
    assert [line["epoch"] for line in lines] == [1, 2]
    for line in lines:
        val = line["val"]
        assert val["event_vs_background/precision"] is None  # no event predicted
        assert val["event_vs_background/true_positives"] == 0
        assert val["event_vs_background/recall"] == 0.0
        assert val["per_class/Church bell"] == 0.0
        assert val["per_class/Accordion"] is None  # no such segment in the split
        assert 0.0 < val["accuracy"] < 1.0
    tags = _val_tags(model_dir)
    assert {"accuracy", "event_vs_background/recall", "per_class/Church bell"} <= tags
    assert "event_vs_background/precision" not in tags
    assert "per_class/Accordion" not in tags
    assert printed.count("val_accuracy=0.") == 2


def test_ave_eval_writes_null_and_prints_n_a(background_run, data_dir, tmp_path):
    """train_noisy holds background only: no event to recall, and none is predicted."""
    model_dir, _, _ = background_run
    output = tmp_path / "eval.json"
    evaluated = subprocess.run(
        [sys.executable, "-m", "ave_tf.bin.ave_eval", f"--data_dir={data_dir}",
         f"--model_dir={model_dir}", "--split=train_noisy", f"--output={output}"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    text = output.read_text()
    result = json.loads(text)
    assert result["accuracy"] == 1.0
    assert result["event_vs_background"]["precision"] is None
    assert result["event_vs_background"]["recall"] is None
    assert result["event_vs_background"]["f1"] is None
    assert result["per_class"]["Church bell"] is None
    assert result["per_class"]["background"] == 1.0
    assert "NaN" not in text
    assert "event vs background: precision=n/a recall=n/a f1=n/a" in evaluated.stdout


def test_undefined_selection_metric_keeps_training(data_dir, tmp_path, capsys):
    """An unlabeled validation split (accuracy None) never improves and prints n/a."""
    task, model_config = _background_task()
    validate = task.validate

    def unlabeled_validate(model, dataset, keep_attention=0):
        metrics, sample = validate(model, dataset, keep_attention)
        return {**metrics, "accuracy": None, "loss": math.nan}, sample

    task.validate = unlabeled_validate
    model_dir = str(tmp_path / "unlabeled")
    result = _train(task, model_config, data_dir, model_dir, verbose=True)

    assert result.epochs_run == 2
    assert result.best_epoch == -1 and result.best_metric is None
    assert not os.path.exists(os.path.join(model_dir, "best.json"))
    assert [line["val"]["accuracy"] for line in _metrics_lines(model_dir)] == [None, None]
    assert [line["val"]["loss"] for line in _metrics_lines(model_dir)] == [None, None]
    assert "accuracy" not in _val_tags(model_dir)
    assert capsys.readouterr().out.count("val_accuracy=n/a") == 2


def test_report_tables_print_n_a_for_undefined_cells():
    from ave_tf.evaluation import report

    rows = [
        {"name": "A", "values": [None]},
        {"name": "V", "values": [0.6, None]},
        {"name": "W-A", "values": []},
    ]
    assert report.markdown_table(rows, report.PAPER_TABLE1).splitlines()[2:] == [
        "| A | 59.5 | n/a | - |",
        "| V | 55.3 | 60.0 (n=1, 1 n/a) | +4.7 |",
        "| W-A | 53.4 | - | - |",
    ]
    grid = report.markdown_grid(
        {"AVDLN": {"a2v": [None, None], "v2a": [0.3, math.nan]}}, report.PAPER_TABLE3
    )
    assert "| AVDLN | n/a (paper 44.8) | 30.0 (paper 35.6) |" in grid
    assert report.summary_text({"accuracy": None, "a2v": None, "v2a": 0.25}) == (
        "accuracy: n/a (no labelled segments)\na2v: n/a\nv2a: 0.2500\n"
    )


def test_paper_tables_report_keeps_undefined_runs_as_n_a():
    from ave_tf.experiments.run_paper_tables import render_report

    text = render_report(
        {"A": [{"accuracy": None}], "late/dmrn": [{"accuracy": None}, {"accuracy": 0.7}]}
    )
    assert "| A | 59.5 | n/a | - |" in text
    assert "| late | " in text and "70.0 (paper 73.1)" in text


def test_metric_values_helpers():
    from ave_tf.utils.metric_values import defined_or_none, format_metric, is_defined, mean, ratio

    assert ratio(1, 4) == 0.25 and ratio(np.int64(3), np.int64(3)) == 1.0
    assert ratio(0, 0) is None and ratio(5, 0.0) is None
    assert ratio(None, 2) is None and ratio(1, math.nan) is None
    assert mean([0.5, 1.0]) == 0.75
    assert mean([]) is None and mean([0.5, None]) is None and mean(iter([1, math.inf])) is None
    assert [is_defined(v) for v in (0, 0.0, np.float32(2), None, math.nan, True, "1")] == [
        True, True, True, False, False, False, False,
    ]  # fmt: skip
    assert defined_or_none(math.nan) is None and defined_or_none(3) == 3
    assert format_metric(0.12345) == "0.1235" and format_metric(12.6, 0) == "13"
    assert [format_metric(v) for v in (None, math.nan, -math.inf)] == ["n/a"] * 3


def test_scalar_metrics_and_metrics_jsonl_keep_undefined_as_null(tmp_path):
    from ave_tf.training import run_dir
    from ave_tf.training.tensorboard_logging import scalar_metrics

    val = {
        "accuracy": 0.5,
        "loss": math.nan,
        "video_accuracy": None,
        "event_vs_background": {"precision": None, "true_positives": 0},
        "per_class": {"Bark": None, "Cat": 1.0},
        "per_video_class": {"Bark": None},
        "confusion_matrix": [[1, 0], [0, 1]],
        "class_names": ["Bark", "Cat"],
        "histograms": {"distance/positive": [1.0]},
    }
    assert scalar_metrics(val) == {
        "accuracy": 0.5,
        "loss": None,
        "video_accuracy": None,
        "event_vs_background/precision": None,
        "event_vs_background/true_positives": 0,
        "per_class/Bark": None,
        "per_class/Cat": 1.0,
    }
    run_dir.append_metrics(str(tmp_path), {"epoch": 1, "val": {"loss": math.inf, "x": [math.nan]}})
    line = (tmp_path / run_dir.METRICS_FILE).read_text()
    assert json.loads(line) == {"epoch": 1, "val": {"loss": None, "x": [None]}}


def test_unlabeled_split_has_no_loss_or_video_accuracy():
    from ave_tf.data import parser, schema
    from ave_tf.evaluation.localization_eval import evaluate_localization
    from ave_tf.models.config import ModelConfig
    from ave_tf.models.localization import build_localization_model

    model = build_localization_model(ModelConfig(modality="audio", hidden_size=4))
    batch = {
        parser.AUDIO: tf.zeros([2, 3, schema.AUDIO_DIM]),
        parser.VISUAL: tf.zeros([2, 3, *schema.VISUAL_SHAPE]),
        parser.LABELS: tf.fill([2, 3], -1),
        parser.MASK: tf.ones([2, 3]),
        parser.VIDEO_LABEL: tf.fill([2], -1),
        parser.VIDEO_ID: tf.constant(["a", "b"]),
    }
    result, _ = evaluate_localization(model, tf.data.Dataset.from_tensors(batch))
    for key in ("accuracy", "loss", "video_loss", "video_accuracy", "mean_class_accuracy"):
        assert result[key] is None, key


def test_cross_modal_validation_without_batches_is_undefined():
    from ave_tf.models.cross_modal import CrossModalConfig
    from ave_tf.training.cross_modal_task import CrossModalTask

    loss, histograms = CrossModalTask(CrossModalConfig())._pair_statistics(None, [])
    assert loss is None and list(histograms["distance/positive"]) == []
