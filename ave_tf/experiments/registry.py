"""The experiment registry: a named, complete recipe (task + model + data + trainer + export).

    @register_experiment("my_lab/my_model", table=None)
    def my_model() -> ExperimentConfig:
        return ExperimentConfig(model=MyModelConfig(width=64), trainer=TrainerConfig(epochs=20))

`ave_train --experiment=NAME` starts from `get_experiment(NAME)`; `--config_file` and
`--params_override` then change any field. Built-in experiments are in this package (the paper's
tables in `paper_tables.py`); others register from modules named in a config's `imports` or
from an installed package's `ave_tf.plugins` entry point.
"""

import dataclasses
from collections.abc import Callable

from ave_tf.training.experiment_config import ExperimentConfig
from ave_tf.utils import plugins
from ave_tf.utils.registry import Registry, RegistryError

EXPERIMENTS = Registry("experiment")
_entry_points_loaded = False


@dataclasses.dataclass(frozen=True)
class ExperimentSpec:
    """name; build() -> ExperimentConfig; the paper table it reproduces and its row label."""

    name: str
    build: Callable[[], ExperimentConfig]
    table: str | None = None
    label: str | None = None


def register_experiment(name: str, table: str | None = None, label: str | None = None):
    """Decorator registering a function returning a complete ExperimentConfig under `name`."""

    def decorator(build):
        EXPERIMENTS.register(name, ExperimentSpec(name, build, table, label or name))
        return build

    return decorator


def _load_plugins() -> None:
    global _entry_points_loaded
    if not _entry_points_loaded:
        _entry_points_loaded = True
        plugins.load_entry_points()


def experiment_spec(name: str) -> ExperimentSpec:
    _load_plugins()
    return EXPERIMENTS.get(name)


def get_experiment(name: str) -> ExperimentConfig:
    """A fresh config of a registered experiment, its `experiment` field set to `name`."""
    config = experiment_spec(name).build()
    if not isinstance(config, ExperimentConfig):
        raise RegistryError(f"experiment {name!r} did not return an ExperimentConfig")
    config.experiment = name
    return config


def experiment_names(tables=None) -> tuple[str, ...]:
    """Registered names (of the given paper tables only, when `tables` is given)."""
    _load_plugins()
    return tuple(
        name for name, spec in EXPERIMENTS.items() if tables is None or spec.table in tables
    )
