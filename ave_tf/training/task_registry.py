"""The task registry: what the trainer, evaluator and exporter know of a training objective.

    @register_task("my_task")
    class MyTask:
        @classmethod
        def from_experiment(cls, experiment: ExperimentConfig) -> "MyTask": ...

A task class (one class may serve several names, e.g. LocalizationTask) offers, duck-typed (see
`LocalizationTask` and `CrossModalTask`):
  selection_metric, selection_mode   the validation metric ("val_...") and "max"/"min"
  serving_role                       "localization" or "cross_modal": which signatures it serves
  build_model(use_cudnn="auto")      the Keras model (from the experiment's registered model)
  train_splits(available), validation_split(available, requested)
  select(batch), model_inputs(batch) the tensors a step needs / the model's inputs
  loss_and_metrics(batch, outputs)   per replica: (loss as a global mean, correct, count)
  validate(model, dataset, keep_attention)  -> (metrics dict, attention sample or None)
  evaluate(model, data_dir, split, input_config) -> metrics dict (ave_eval, the table runner)
Nothing outside the task modules looks at a task's or a model's name.
"""

import importlib

from ave_tf.utils.registry import Registry

TASKS = Registry("task")
# Built-in tasks register on import; they are imported on the first lookup so that reading a
# config (e.g. checking params.yaml) does not need TensorFlow.
_BUILTIN_MODULES = ("ave_tf.training.localization_task", "ave_tf.training.cross_modal_task")


def register_task(name: str):
    """Class decorator registering a task class (with `from_experiment`) under `name`."""
    return TASKS.register(name)


def _load_builtins() -> None:
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)


def task_names() -> tuple[str, ...]:
    _load_builtins()
    return TASKS.names()


def task_class(name: str) -> type:
    """The class registered for a task name (RegistryError listing the known tasks)."""
    _load_builtins()
    return TASKS.get(name)


def make_task(experiment):
    """The task object the trainer drives for a (validated) experiment config."""
    return task_class(experiment.task.name).from_experiment(experiment)
