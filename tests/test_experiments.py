"""The paper-table registry and the experiments runner on the tiny planted dataset."""

import os
import subprocess
import sys

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
