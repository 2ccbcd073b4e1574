"""Typed nested configs: strict dict/YAML conversion, overrides, and the registries' errors."""

import dataclasses

import pytest

from ave_tf.models.config import ModelConfig
from ave_tf.models.cross_modal import CrossModalConfig
from ave_tf.models.registry import register_model
from ave_tf.training.experiment_config import ExperimentConfig, comparable
from ave_tf.utils import hyperparams
from ave_tf.utils.hyperparams import ConfigError
from ave_tf.utils.registry import Registry, RegistryError


def test_round_trip_and_registered_model_section():
    config = ExperimentConfig(model=ModelConfig(fusion="gmu", tcn_filters=(4, 8)))
    values = config.to_dict()
    assert values["model"]["name"] == "localization"
    assert values["model"]["tcn_filters"] == [4, 8]
    assert ExperimentConfig.from_dict(values) == config
    switched = config.override({"model": {"name": "cross_modal", "method": "dcca"}})
    # Another model's section replaces the old one whole (its fields belong to another class).
    assert switched.model == CrossModalConfig(method="dcca")


@pytest.mark.parametrize(
    "values, message",
    [
        ({"trainer": {"epochs": "ten"}}, "trainer.epochs: expected an int, got 'ten'"),
        ({"trainer": {"epochs": True}}, "trainer.epochs: expected an int"),
        ({"trainer": {"optimizer": {"learning_rate": "x"}}}, "trainer.optimizer.learning_rate"),
        ({"trainer": {"epoch": 3}}, "trainer.epoch: unknown field 'epoch' of TrainerConfig"),
        ({"model": {"hiden_size": 3}}, "model.hiden_size: unknown field"),
        ({"model": {"tcn_filters": [4, "x"]}}, r"model.tcn_filters\[1\]: expected an int"),
        ({"model": {"name": "lstm_net"}}, "model.name: unknown model 'lstm_net' .*known: "),
        ({"model": 3}, "model: expected a mapping with a 'name'"),
        ({"task": "weak"}, "task: expected a mapping"),
    ],
)
def test_unknown_fields_and_wrong_types_name_the_field(values, message):
    with pytest.raises(ConfigError, match=message):
        ExperimentConfig().override(values)


def test_numbers_widen_to_float_and_nullable_fields_accept_null():
    config = ExperimentConfig().override(
        {"trainer": {"optimizer": {"learning_rate": 1}}, "model": {"fusion_dim": None}}
    )
    assert config.trainer.optimizer.learning_rate == 1.0
    assert isinstance(config.trainer.optimizer.learning_rate, float)
    with pytest.raises(ConfigError, match="model.fusion_dim: expected an int or null"):
        ExperimentConfig().override({"model": {"fusion_dim": "wide"}})


@pytest.mark.parametrize(
    "text, expected",
    [
        ("trainer.epochs=2", {"trainer": {"epochs": 2}}),
        (
            "trainer.epochs=2,model.fusion=gmu,model.tcn_filters=[8, 16],task.use_noisy=false",
            {
                "trainer": {"epochs": 2},
                "model": {"fusion": "gmu", "tcn_filters": [8, 16]},
                "task": {"use_noisy": False},
            },
        ),
        ("{trainer: {epochs: 2, batch_size: 8}}", {"trainer": {"epochs": 2, "batch_size": 8}}),
        ("trainer:\n  epochs: 3\n", {"trainer": {"epochs": 3}}),
        ("data.cache=", {"data": {"cache": ""}}),
        ("", {}),
    ],
)
def test_params_override_syntax(text, expected):
    assert hyperparams.parse_override(text) == expected


@pytest.mark.parametrize("text", ["trainer.epochs", "=3", "a..b=1", "[1, 2]", "{a: [1"])
def test_bad_params_override_is_a_config_error(text):
    with pytest.raises(ConfigError, match="--params_override"):
        hyperparams.parse_override(text)


def test_yaml_files_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("trainer: {epochs: [\n")
    with pytest.raises(ConfigError, match=f"{bad}: not valid YAML"):
        hyperparams.load_yaml_file(str(bad))
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("3\n")
    with pytest.raises(ConfigError, match="expected a YAML mapping"):
        hyperparams.load_yaml_file(str(scalar))
    with pytest.raises(ConfigError, match="cannot read"):
        hyperparams.load_yaml_file(str(tmp_path / "missing.yaml"))


def test_validate_names_the_dotted_field():
    with pytest.raises(ValueError, match=r"trainer.epochs=0: must be >= 1"):
        ExperimentConfig().override({"trainer": {"epochs": 0}}).validate()
    with pytest.raises(ValueError, match="task.val_split='test'"):
        ExperimentConfig().override({"task": {"val_split": "test"}}).validate()
    with pytest.raises(ValueError, match=r"model \(localization\): .*fusion_stage='early'"):
        ExperimentConfig(model=ModelConfig(fusion="dmrfe", fusion_stage="early")).validate()


def test_resumable_fields_do_not_count_as_another_configuration():
    base = ExperimentConfig().to_dict()
    longer = ExperimentConfig().override(
        {"trainer": {"epochs": 99, "verbose": False}, "data": {"data_dir": "elsewhere"}}
    )
    assert comparable(base) == comparable(longer.to_dict())
    other = ExperimentConfig().override({"trainer": {"seed": 1}})
    assert comparable(base) != comparable(other.to_dict())


def test_registry_errors_list_known_names_and_refuse_duplicates():
    registry = Registry("widget")
    registry.register("round", 1)
    registry.register("square", 2)
    with pytest.raises(RegistryError, match=r"unknown widget 'rond' \(known: round, square\)"):
        registry.get("rond")
    with pytest.raises(RegistryError, match="did you mean 'round'"):
        registry.get("rond")
    with pytest.raises(RegistryError, match="already registered"):
        registry.register("round", 3)


def test_a_config_class_belongs_to_one_model():
    with pytest.raises(RegistryError, match="already configures model 'localization'"):
        register_model("another_name", ModelConfig)

    @dataclasses.dataclass
    class Subclass(ModelConfig):
        pass

    # A subclass is a config class of its own (what EDTCNConfig does).
    assert hyperparams.config_name(Subclass()) is None
