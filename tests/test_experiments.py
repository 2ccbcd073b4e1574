"""The paper's tables as registered experiments, and the runner that iterates their names."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from ave_tf.experiments import experiment_names, get_experiment
from ave_tf.experiments.registry import experiment_spec
from ave_tf.experiments.run_paper_tables import PAPER_TABLES, TABLES
from ave_tf.models.fusion import FUSIONS
from ave_tf.utils import hyperparams
from tests.binaries import run_binary
from tests.tiny_dataset import write_tiny_dataset


def test_every_paper_configuration_is_a_registered_valid_experiment():
    names = experiment_names(PAPER_TABLES)
    others = set(experiment_names(["authors", "zoo"]))
    assert set(experiment_names(TABLES)) - set(names) == others
    assert len(names) == len(set(names)) == 10 + 28 + 1 + 2
    assert {
        "table1/a", "table1/av_att", "table1/weak_av_att", "table2/late/dmrn",
        "table2/late/dmrfe", "table2/early/gmu", "ed_tcn/v", "table3/avdln", "table3/dcca",
    } <= set(names)  # fmt: skip
    labels = [experiment_spec(n).label for n in names]
    assert {"A", "V-att", "A+V-att", "W-A+V-att", "late/dmrn", "ED-TCN", "AVDLN"} <= set(labels)
    for name in names:
        experiment = get_experiment(name).validate()
        assert experiment.experiment == name
        # The YAML form rebuilds the same experiment.
        again = hyperparams.from_dict(type(experiment), yaml.safe_load(yaml.safe_dump(
            experiment.to_dict())))  # fmt: skip
        assert again == experiment


def test_table2_iterates_the_fusion_registry():
    cells = {n.removeprefix("table2/") for n in experiment_names(["table2"])}
    expected = {
        f"{stage}/{name}"
        for name, spec in FUSIONS.items()
        if spec.in_paper_table2
        for stage in spec.stages
    }
    assert cells == expected
    for cell in cells:
        stage, fusion = cell.split("/")
        model = get_experiment(f"table2/{cell}").model
        assert (model.fusion_stage, model.fusion, model.attention) == (stage, fusion, True)


def test_table1_weak_rows_train_the_weak_task_on_weak_models():
    for name in experiment_names(["table1"]):
        experiment = get_experiment(name)
        expected = "weak" if "/weak_" in name else "supervised"
        assert experiment.task.name == experiment.model.task == expected


def test_runner_trains_evaluates_and_reports(tmp_path):
    data_dir = write_tiny_dataset(str(tmp_path / "data"))
    output_dir = tmp_path / "out"
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- paper-tables:begin -->\nold\n<!-- paper-tables:end -->\nkept\n")
    command = [
        sys.executable, "-m", "ave_tf.experiments.run_paper_tables", f"--data_dir={data_dir}",
        f"--output_dir={output_dir}", "--tables=table1", "--only=^table1/a$", "--seeds=0",
        "--epochs=1", "--batch_size=16", f"--write_into={readme}",
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = (output_dir / "experiments.md").read_text()
    assert "| A | 59.5 |" in report
    written = readme.read_text()
    assert "old" not in written and "| A | 59.5 |" in written and written.endswith("kept\n")
    assert os.listdir(output_dir / "hparams") == ["table1_a-seed0"]
    run_dir = output_dir / "runs" / "table1_a" / "seed0"
    params = yaml.safe_load((run_dir / "params.yaml").read_text())
    assert params["experiment"] == "table1/a" and params["trainer"]["epochs"] == 1
    assert "--experiment=table1/a" in (run_dir / "commands.txt").read_text()
    result = json.loads((run_dir / "eval_test.json").read_text())
    assert result["seconds_per_epoch"] > 0 and len(result["fingerprint"]) == 16

    # The result alone (what git keeps of results/paper_tables) is reused as it is ...
    for path in run_dir.iterdir():
        if path.name != "eval_test.json":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "rerunning" not in again.stdout and sorted(os.listdir(run_dir)) == ["eval_test.json"]
    # ... but not once the dataset differs: the run is trained again.
    meta = json.loads((tmp_path / "data" / "dataset.json").read_text())
    meta["description"] = "another dataset"
    (tmp_path / "data" / "dataset.json").write_text(json.dumps(meta))
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "is of another config or dataset: rerunning" in rerun.stdout
    assert (
        json.loads((run_dir / "eval_test.json").read_text())["fingerprint"]
        != (result["fingerprint"])
    )
    assert (run_dir / "params.yaml").exists()


def test_runner_rejects_unknown_tables_and_bad_overrides(tmp_path):
    def run(*flags):
        return subprocess.run(
            [sys.executable, "-m", "ave_tf.experiments.run_paper_tables", "--data_dir=x",
             f"--output_dir={tmp_path}", *flags],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    unknown = run("--tables=table9")
    assert unknown.returncode == 2 and "table9" in unknown.stderr.strip().splitlines()[-1]
    bad = run("--tables=table1", "--params_override=trainer.epoch=3")
    assert bad.returncode == 2
    assert "trainer.epoch: unknown field" in bad.stderr.strip().splitlines()[-1]
    (tmp_path / "plain.md").write_text("no markers\n")
    unmarked = run("--tables=table1", f"--write_into={tmp_path / 'plain.md'}")
    assert unmarked.returncode == 2
    assert "plain.md: no <!-- paper-tables:begin -->" in unmarked.stderr.strip().splitlines()[-1]


_binary = run_binary


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return write_tiny_dataset(str(tmp_path_factory.mktemp("tiny")))


@pytest.mark.slow
@pytest.mark.parametrize("name", experiment_names(["table1", "table2", "ed_tcn"]))
def test_every_localization_experiment_through_the_binaries(name, tiny_data, tmp_path):
    """ave_train --experiment builds exactly the registered model, and ave_eval evaluates it
    (what a user reproducing one table cell by hand runs)."""
    model_dir = tmp_path / "model"
    trained = _binary(
        "ave_train", f"--data_dir={tiny_data}", f"--model_dir={model_dir}", f"--experiment={name}",
        "--params_override=trainer.epochs=1,trainer.batch_size=16,trainer.max_steps_per_epoch=1",
        "--log_attention_videos=0", "--noprogress",
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-2000:]
    params = yaml.safe_load((model_dir / "params.yaml").read_text())
    assert params["model"] == get_experiment(name).to_dict()["model"]
    output = tmp_path / "eval.json"
    evaluated = _binary(
        "ave_eval", f"--model_dir={model_dir}", "--split=test", f"--output={output}"
    )
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]


def test_report_shows_the_authors_recipes_beside_their_paper_cells():
    from ave_tf.experiments.run_paper_tables import render_report

    report = render_report(
        {
            "authors_av_att": [{"accuracy": 0.80}, {"accuracy": 0.82}, {"accuracy": 0.81}],
            "authors_dmrn": [{"accuracy": 0.75}],
            "authors_avdln": [{"a2v": 0.70, "v2a": 0.65}],
            "A+V-att": [{"accuracy": 0.60}],  # table1's row keeps its own line
        }
    )
    assert "| authors_av_att | 72.7 | 81.0 ± 1.0 (n=3) | +8.3 |" in report
    assert "| authors_dmrn | 73.1 | 75.0 (n=1) | +1.9 |" in report
    assert "| authors_avdln A2V | 44.8 | 70.0 (n=1) | +25.2 |" in report
    assert "| A+V-att | 72.7 | 60.0 (n=1) | -12.7 |" in report


def test_report_shows_the_zoo_with_seconds_per_epoch():
    from ave_tf.experiments.run_paper_tables import render_report

    report = render_report(
        {
            "cmbs": [
                {"accuracy": 0.80, "seconds_per_epoch": 10.0},
                {"accuracy": 0.78, "seconds_per_epoch": 12.0},
            ],
            "psp_weak": [{"accuracy": None}],  # undefined, no timing recorded
        }
    )
    assert "| experiment | paper | ours mean ± std (n seeds) | Δ | s/epoch |" in report
    assert "| `cmbs` | 79.3 | 79.0 ± 1.4 (n=2) | -0.3 | 11.0 |" in report
    assert "| `psp_weak` | 73.5 | n/a | - | - |" in report
