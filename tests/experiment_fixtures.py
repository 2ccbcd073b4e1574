"""Experiment configs for tests: a model config plus nested overrides, validated."""

from ave_tf.training.experiment_config import ExperimentConfig, TaskConfig


def make_experiment(model, data_dir: str, task: str | None = None, **sections):
    """An ExperimentConfig training `model` on `data_dir`.

    `task` defaults to the model's own supervision (`model.task`, else "supervised");
    `sections` are nested overrides, e.g. trainer={"epochs": 2}, data={"shuffle_buffer": 8}.
    """
    task = task or getattr(model, "task", "supervised")
    overrides = {key: dict(value) for key, value in sections.items()}
    overrides.setdefault("data", {})["data_dir"] = data_dir
    config = ExperimentConfig(task=TaskConfig(name=task), model=model)
    return config.override(overrides).validate()
