"""The layout of a `--model_dir`, and the guard against resuming a different configuration.

model_dir/
  params.yaml          the resolved ExperimentConfig: rebuilds the model, reproduces the run
  checkpoints/         tf.train.CheckpointManager (model, optimizer, epoch, best metric)
  best.weights.h5      weights of the validation-selected epoch (what export and eval use)
  best.json            which epoch was selected, on which metric
  metrics.jsonl        one line of train/val metrics per epoch (undefined ones are null)
  train/, val/         TensorBoard event files

Model dirs written before params.yaml existed hold `config.json` ({"task", "model", "train",
"data"}); they still evaluate and export (their model is rebuilt from it), but do not resume.
"""

import contextlib
import glob
import json
import math
import os

from absl import logging

from ave_tf.training.experiment_config import ExperimentConfig, comparable
from ave_tf.utils import file_io, hyperparams, plugins
from ave_tf.utils.atomic_files import write_json_atomic, write_text_atomic

PARAMS_FILE = "params.yaml"
LEGACY_CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
BEST_WEIGHTS = "best.weights.h5"
BEST_INFO = "best.json"
METRICS_FILE = "metrics.jsonl"
# What a run writes into its model_dir (what --overwrite removes; nothing else is touched).
RUN_FILES = (PARAMS_FILE, LEGACY_CONFIG_FILE, CHECKPOINT_DIR, BEST_WEIGHTS, BEST_INFO,
             METRICS_FILE, "train", "val")  # fmt: skip
# Models of the paper's two families, as config.json named them before the model registry.
_LEGACY_MODELS = {
    "supervised": "localization",
    "weak": "localization",
    "cross_modal": "cross_modal",
}


class RunDirError(ValueError):
    """A model_dir that cannot be used as asked (names the directory and the reason)."""


def params_path(model_dir: str) -> str:
    return os.path.join(model_dir, PARAMS_FILE)


def best_weights_path(model_dir: str) -> str:
    return os.path.join(model_dir, BEST_WEIGHTS)


def read_experiment(model_dir: str) -> ExperimentConfig:
    """The experiment a model_dir was trained with (params.yaml, or a legacy config.json)."""
    path = params_path(model_dir)
    if file_io.isfile(path):
        try:
            values = hyperparams.load_yaml_file(path)
            # The modules that register the run's model/task come first (e.g. a user model).
            plugins.import_modules(values.get("imports") or [], f"{path}: imports")
            return ExperimentConfig.from_dict(values)
        except plugins.PluginError as e:
            raise RunDirError(str(e)) from None
        except ValueError as e:
            raise RunDirError(
                f"{path}: {e} (written by another ave_tf version? retrain, or rebuild the model "
                "with that version and re-export it)"
            ) from None
    legacy = os.path.join(model_dir, LEGACY_CONFIG_FILE)
    if file_io.isfile(legacy):
        return experiment_from_legacy_config(_read_json(legacy), legacy)
    raise RunDirError(f"{path}: not found (is --model_dir a trained model directory?)")


def experiment_from_legacy_config(run_config: dict, source: str = LEGACY_CONFIG_FILE):
    """The ExperimentConfig of a pre-registry config.json ({"task", "model", "train", ...})."""
    task = run_config.get("task")
    if task not in _LEGACY_MODELS:
        raise RunDirError(f"{source}: unknown task {task!r}")
    model = {"name": _LEGACY_MODELS[task], **(run_config.get("model") or {})}
    try:
        return ExperimentConfig.from_dict({"task": {"name": task}, "model": model})
    except ValueError as e:
        raise RunDirError(
            f"{source}: {e} (an older model_dir this version cannot rebuild: re-export it with "
            "the ave_tf version that trained it)"
        ) from None


def _read_json(path: str) -> dict:
    try:
        return json.loads(file_io.read_text(path))
    except (OSError, json.JSONDecodeError) as e:
        raise RunDirError(f"{path}: unreadable: {e}") from None


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    diffs = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            diffs += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            diffs.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return diffs


def _with_defaults(stored: dict) -> dict:
    """A stored params.yaml with the fields added to the config since it was written filled in
    with their defaults: a new field (e.g. trainer.optimizer.global_clipnorm) must not make an
    older run look like another configuration. Unparseable configs are compared as they are."""
    try:
        return ExperimentConfig.from_dict(stored).to_dict()
    except (ValueError, LookupError, TypeError):
        return stored


def prepare_run_dir(model_dir: str, experiment: ExperimentConfig, overwrite: bool = False) -> bool:
    """Creates model_dir and writes params.yaml, or checks that it holds the same experiment.

    Returns True when a previous run with the same configuration exists, i.e. training resumes
    (params.yaml is rewritten: e.g. a raised trainer.epochs). Raises RunDirError listing the
    differences when model_dir holds another configuration, unless `overwrite` (then the previous
    run's files are removed first).
    """
    if overwrite:
        remove_run_files(model_dir)
    file_io.makedirs(model_dir)
    path = params_path(model_dir)
    new = experiment.to_dict()
    if file_io.exists(path):
        try:
            old = hyperparams.load_yaml_file(path)
        except ValueError as e:
            if not _has_progress(model_dir):
                return _replace_unfinished_run(model_dir, experiment, str(e))
            raise RunDirError(f"{e}; use a new --model_dir or --overwrite") from None
        diffs = _differences(comparable(_with_defaults(old)), comparable(new))
        if diffs and not _has_progress(model_dir):
            return _replace_unfinished_run(model_dir, experiment, "; ".join(diffs[:6]))
        if diffs:
            raise RunDirError(
                f"{model_dir} holds a different configuration, refusing to resume "
                f"({'; '.join(diffs[:6])}); use a new --model_dir or --overwrite"
            )
        write_text_atomic(path, hyperparams.dump_yaml(new))
        return True
    if file_io.exists(os.path.join(model_dir, LEGACY_CONFIG_FILE)):
        raise RunDirError(
            f"{model_dir} holds a run of an older ave_tf ({LEGACY_CONFIG_FILE}, no {PARAMS_FILE}): "
            "it still evaluates and exports, but cannot resume; use a new --model_dir or "
            "--overwrite"
        )
    write_text_atomic(path, hyperparams.dump_yaml(new))
    return False


def _has_progress(model_dir: str) -> bool:
    """Whether a run in model_dir finished an epoch (a checkpoint or selected weights)."""
    checkpoint_state = os.path.join(model_dir, CHECKPOINT_DIR, "checkpoint")
    return file_io.exists(checkpoint_state) or file_io.exists(best_weights_path(model_dir))


def _replace_unfinished_run(model_dir: str, experiment: ExperimentConfig, why: str) -> bool:
    """A run that failed before finishing an epoch has nothing to keep: start afresh."""
    logging.warning(
        "%s: replacing an earlier run that finished no epoch (its params.yaml: %s)", model_dir, why
    )
    remove_run_files(model_dir)
    write_text_atomic(params_path(model_dir), hyperparams.dump_yaml(experiment.to_dict()))
    return False


def remove_temporary_files(model_dir: str) -> None:
    """Deletes the temporary files of an interrupted save: ours (`.tmp-*`) and TensorFlow's
    checkpoint staging (`ckpt-N_temp/`, `checkpoint.tmp*`)."""
    patterns = (".tmp-*", os.path.join(CHECKPOINT_DIR, "*_temp"),
                os.path.join(CHECKPOINT_DIR, "checkpoint.tmp*"))  # fmt: skip
    # A remote model_dir is matched as given (gfile's glob has no escape function).
    base = model_dir if file_io.is_remote(model_dir) else glob.escape(model_dir)
    for pattern in patterns:
        for path in file_io.glob(os.path.join(base, pattern)):
            if file_io.isdir(path):
                with contextlib.suppress(OSError):  # what it can, as `rm -rf` would
                    file_io.rmtree(path)
            else:
                with contextlib.suppress(FileNotFoundError):
                    file_io.remove(path)


def remove_run_files(model_dir: str) -> None:
    """Deletes what a previous run wrote into model_dir (RUN_FILES only)."""
    for name in RUN_FILES:
        path = os.path.join(model_dir, name)
        if file_io.isdir(path):
            file_io.rmtree(path)
        elif file_io.exists(path):
            file_io.remove(path)


def _null_if_not_finite(value):
    """NaN and infinities (not JSON, and undefined metrics) become null, at any depth."""
    if isinstance(value, dict):
        return {key: _null_if_not_finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_null_if_not_finite(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def append_metrics(model_dir: str, record: dict) -> None:
    """Appends one epoch's line, on disk before the epoch's checkpoint is (a kill keeps it)."""
    line = json.dumps(_null_if_not_finite(record), sort_keys=True, allow_nan=False)
    path = os.path.join(model_dir, METRICS_FILE)
    if file_io.is_remote(path):  # object stores cannot append: upload the file again (small)
        previous = file_io.read_text(path) if file_io.exists(path) else ""
        write_text_atomic(path, previous + line + "\n")
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


def truncate_metrics(model_dir: str, epochs: int) -> None:
    """Keeps the lines of the first `epochs` epochs: a run killed after writing an epoch's
    metrics but before its checkpoint redoes that epoch, which writes the line again."""
    path = os.path.join(model_dir, METRICS_FILE)
    if not file_io.exists(path):
        return
    lines = file_io.read_text(path).splitlines(keepends=True)
    kept = []
    for line in lines:
        try:
            epoch = json.loads(line).get("epoch", 0)
        except (json.JSONDecodeError, AttributeError):
            continue  # a line cut short by the kill
        if epoch <= epochs:
            kept.append(line)
    if kept != lines:
        write_text_atomic(path, "".join(kept))


def write_best_info(model_dir: str, epoch: int, metric: str, value: float) -> None:
    write_json_atomic(
        os.path.join(model_dir, BEST_INFO), {"epoch": epoch, "metric": metric, "value": value}
    )
