"""--experiment, --config_file, --params_override and params.yaml through the real binaries."""

import json
import os

import pytest
import yaml

from tests.binaries import run_binary
from tests.tiny_dataset import write_tiny_dataset

SMALL = "trainer.epochs=2,trainer.batch_size=8,model.hidden_size=16,data.shuffle_buffer=16"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_tiny_dataset(str(tmp_path_factory.mktemp("tiny")))


_run = run_binary


def _error_line(result) -> str:
    assert result.returncode != 0, result.stdout[-2000:]
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert ": error: " in lines[-1], result.stderr[-2000:]
    return lines[-1]


def _metrics(model_dir):
    with open(os.path.join(model_dir, "metrics.jsonl")) as f:
        # "train" and "overhead" hold wall-clock times, which no seed reproduces.
        return [
            {k: v for k, v in json.loads(line).items() if k not in ("train", "overhead")}
            for line in f
        ]


@pytest.fixture(scope="module")
def trained(data_dir, tmp_path_factory):
    model_dir = str(tmp_path_factory.mktemp("runs") / "av_att")
    result = _run(
        "ave_train", f"--data_dir={data_dir}", f"--model_dir={model_dir}",
        "--experiment=table1/av_att", f"--params_override={SMALL}", "--noprogress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Trained table1/av_att for 2 epoch(s)" in result.stdout
    return model_dir


def test_params_yaml_is_the_resolved_experiment(trained, data_dir):
    with open(os.path.join(trained, "params.yaml")) as f:
        params = yaml.safe_load(f)
    assert params["experiment"] == "table1/av_att"
    assert params["model"]["name"] == "localization"
    assert params["model"]["attention"] is True and params["model"]["fusion"] == "concat"
    assert params["model"]["hidden_size"] == 16
    assert params["trainer"]["epochs"] == 2 and params["trainer"]["batch_size"] == 8
    assert params["data"]["data_dir"] == data_dir


def test_training_again_from_params_yaml_reproduces_the_run(trained, data_dir, tmp_path):
    again = str(tmp_path / "again")
    result = _run(
        "ave_train", f"--data_dir={data_dir}", f"--model_dir={again}",
        f"--config_file={os.path.join(trained, 'params.yaml')}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    with (
        open(os.path.join(again, "params.yaml")) as f,
        open(os.path.join(trained, "params.yaml")) as g,
    ):
        assert yaml.safe_load(f) == yaml.safe_load(g)
    assert _metrics(again) == _metrics(trained)


def test_eval_and_export_rebuild_the_model_from_params_yaml(trained, tmp_path):
    output = tmp_path / "eval.json"
    evaluated = _run("ave_eval", f"--model_dir={trained}", f"--output={output}")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert json.loads(output.read_text())["experiment"] == "table1/av_att"
    base = tmp_path / "export"
    exported = _run(
        "ave_export", f"--model_dir={trained}", f"--export_base={base}", "--nowarmup",
        "--params_override=export.model_name=av_att",
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr[-3000:]
    assets = base / "1" / "assets.extra"
    params = yaml.safe_load((assets / "params.yaml").read_text())
    assert params["experiment"] == "table1/av_att" and params["export"]["model_name"] == "av_att"
    info = json.loads((assets / "ave_export.json").read_text())
    assert info["model_name"] == "av_att"
    assert info["models"]["supervised"]["experiment"] == "table1/av_att"
    wrong = _run(
        "ave_eval", f"--model_dir={trained}", "--experiment=table1/a", f"--output={output}"
    )
    assert "trained as table1/av_att" in _error_line(wrong)


def test_another_configuration_is_refused_unless_overwrite(trained, data_dir, tmp_path):
    import shutil

    model_dir = str(tmp_path / "copy")
    shutil.copytree(trained, model_dir)
    args = [f"--data_dir={data_dir}", f"--model_dir={model_dir}", "--experiment=table1/av_att"]
    refused = _run("ave_train", *args, f"--params_override={SMALL},model.hidden_size=8")
    line = _error_line(refused)
    assert "different configuration" in line and "model.hidden_size: 16 -> 8" in line
    assert "--overwrite" in line
    # More epochs (a resumable field) continue the same run.
    resumed = _run("ave_train", *args, f"--params_override={SMALL},trainer.epochs=3")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resuming from" in resumed.stdout and len(_metrics(model_dir)) == 3
    replaced = _run(
        "ave_train", *args, f"--params_override={SMALL},model.hidden_size=8,trainer.epochs=1",
        "--overwrite",
    )  # fmt: skip
    assert replaced.returncode == 0, replaced.stderr[-3000:]
    assert len(_metrics(model_dir)) == 1


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--experiment=table1/av-att"], "unknown experiment 'table1/av-att' (known: authors_a, "),
        (["--params_override=trainer.epochs=two"], "trainer.epochs: expected an int, got 'two'"),
        (["--fusion=dmrfe", "--fusion_stage=early"], "fusion_stage='early' is not available"),
    ],
)
def test_bad_configs_are_one_line_errors(flags, message, data_dir, tmp_path):
    model_dir = tmp_path / "m"
    result = _run("ave_train", f"--data_dir={data_dir}", f"--model_dir={model_dir}", *flags)
    assert message in _error_line(result)
    assert not model_dir.exists()


@pytest.mark.parametrize(
    "shortcuts, overrides, message",
    [
        ({}, ["trainer.epoch=2"], "trainer.epoch: unknown field 'epoch'"),
        ({}, ["model.name=resnet"], "model.name: unknown model 'resnet'"),
        ({"fusion": "bogus"}, [], "--fusion='bogus': unknown fusion"),
        ({"task": "strong"}, [], "unknown task 'strong'"),
        ({"cross_modal_method": "dcca"}, [], "--cross_modal_method: the model 'localization'"),
        ({"epochs": 0}, [], "trainer.epochs=0: must be >= 1"),
    ],
)
def test_bad_shortcuts_and_overrides_name_the_flag_or_field(shortcuts, overrides, message):
    from ave_tf.experiments.cli import resolve_experiment

    with pytest.raises(LookupError if "unknown task" in message else ValueError) as raised:
        resolve_experiment(None, shortcuts=shortcuts, overrides=overrides)
    assert message in str(raised.value.args[0])


def test_config_file_errors_name_the_file(data_dir, tmp_path):
    config = tmp_path / "exp.yaml"
    config.write_text("trainer:\n  epochs: 2\n  learning_rat: 0.1\n")
    result = _run("ave_train", f"--data_dir={data_dir}", f"--model_dir={tmp_path / 'm'}",
                  f"--config_file={config}")  # fmt: skip
    assert f"{config}: trainer.learning_rat: unknown field" in _error_line(result)
    config.write_text("imports: [no_such_module_anywhere]\n")
    result = _run("ave_train", f"--data_dir={data_dir}", f"--model_dir={tmp_path / 'm'}",
                  f"--config_file={config}")  # fmt: skip
    assert "cannot import 'no_such_module_anywhere'" in _error_line(result)


def test_shortcut_flags_restate_no_default():
    from absl import flags

    from ave_tf.experiments.cli import SHORTCUTS, define_experiment_flags, given_shortcuts

    values = flags.FlagValues()
    define_experiment_flags(tuple(s.flag for s in SHORTCUTS), flag_values=values)
    values(["prog", "--epochs=3"])
    assert all(values[s.flag].default is None for s in SHORTCUTS)
    assert given_shortcuts(values) == {"epochs": 3}


def test_single_modality_shortcut_resets_the_fusion_of_the_default_experiment():
    from ave_tf.experiments.cli import resolve_experiment

    audio = resolve_experiment(None, shortcuts={"modality": "audio"})
    assert (audio.model.fusion, audio.model.fusion_stage, audio.model.attention) == (
        "concat",
        "late",
        False,
    )
    weak = resolve_experiment(None, shortcuts={"task": "weak"})
    assert weak.task.name == weak.model.task == "weak" and weak.model.fusion == "dmrn"
    cross = resolve_experiment(None, shortcuts={"task": "cross_modal"})
    assert cross.experiment == "table3/avdln" and cross.model_name == "cross_modal"
