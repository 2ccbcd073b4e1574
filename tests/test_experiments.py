"""The paper-table registry and the experiments runner on the tiny planted dataset."""

import json
import os
import subprocess
import sys

import pytest

from ave_tf.experiments import registry
from ave_tf.models.config import ModelConfig
from ave_tf.models.cross_modal import CrossModalConfig
from tests.tiny_dataset import write_tiny_dataset


def test_registry_has_every_paper_configuration_and_they_validate():
    experiments = registry.experiments(["table1", "table2", "ed_tcn", "table3"])
    names = [e.name for e in experiments]
    assert len(names) == len(set(names)) == 10 + 28 + 1 + 2
    assert {"A", "V-att", "A+V-att", "W-A+V-att", "late/dmrn", "late/dmrfe", "early/gmu"} <= set(
        names
    )
    for experiment in experiments:
        if experiment.task == "cross_modal":
            CrossModalConfig(**experiment.model).validate()
        else:
            ModelConfig(**experiment.model).validate()


def test_runner_trains_evaluates_and_reports(tmp_path):
    data_dir = write_tiny_dataset(str(tmp_path / "data"))
    output_dir = tmp_path / "out"
    completed = subprocess.run(
        [
            sys.executable, "-m", "ave_tf.experiments.run_paper_tables", f"--data_dir={data_dir}",
            f"--output_dir={output_dir}", "--tables=table1", "--only=^A$", "--seeds=0",
            "--epochs=1", "--batch_size=16",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = (output_dir / "experiments.md").read_text()
    assert "| A | 59.5 |" in report
    assert os.listdir(output_dir / "hparams") == ["A-seed0"]


def _binary(name, *flags):
    return subprocess.run(
        [sys.executable, "-m", f"ave_tf.bin.{name}", *flags],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return write_tiny_dataset(str(tmp_path_factory.mktemp("tiny")))


@pytest.mark.slow
@pytest.mark.parametrize(
    "experiment",
    registry.experiments(["table1", "table2", "ed_tcn"]),
    ids=lambda e: e.name,
)
def test_every_localization_configuration_through_the_binaries(experiment, tiny_data, tmp_path):
    """ave_train with the registry's flags builds exactly the runner's model, and ave_eval
    evaluates it (what a user reproducing one table cell by hand runs)."""
    model_dir = tmp_path / "model"
    trained = _binary(
        "ave_train", f"--data_dir={tiny_data}", f"--model_dir={model_dir}", "--epochs=1",
        "--batch_size=16", "--max_steps_per_epoch=1", "--log_attention_videos=0",
        "--noprogress", *experiment.ave_train_flags(),
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-2000:]
    with open(model_dir / "config.json") as f:
        built = json.load(f)["model"]
    assert built == ModelConfig(**experiment.model).to_dict()
    output = tmp_path / "eval.json"
    evaluated = _binary(
        "ave_eval", f"--model_dir={model_dir}", f"--data_dir={tiny_data}", "--split=test",
        f"--output={output}",
    )  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    with open(output) as f:
        result = json.load(f)
    assert 0.0 <= result["accuracy"] <= 1.0


def test_ave_train_flags_cover_every_registry_field():
    for experiment in registry.experiments(["table1", "table2", "ed_tcn", "table3"]):
        flags = experiment.ave_train_flags()
        assert flags[0] == f"--task={experiment.task}"
    with pytest.raises(ValueError, match="no ave_train flag"):
        registry.Experiment(
            "x", "table1", "supervised", {"modality": "av", "bogus": 1}
        ).ave_train_flags()
