"""The layout of a `--model_dir`, and the guard against resuming a different configuration.

model_dir/
  config.json          {"task", "model", "train", "data"}: enough to rebuild and reproduce
  checkpoints/         tf.train.CheckpointManager (model, optimizer, epoch, best metric)
  best.weights.h5      weights of the validation-selected epoch (what export and eval use)
  best.json            which epoch was selected, on which metric
  metrics.jsonl        one line of train/val metrics per epoch (undefined ones are null)
  train/, val/         TensorBoard event files
"""

import json
import math
import os

from ave_tf.training.train_config import RESUMABLE_FIELDS
from ave_tf.utils.atomic_files import write_json_atomic

CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
BEST_WEIGHTS = "best.weights.h5"
BEST_INFO = "best.json"
METRICS_FILE = "metrics.jsonl"


class RunDirError(ValueError):
    """A model_dir that cannot be used as asked (names the directory and the reason)."""


def config_path(model_dir: str) -> str:
    return os.path.join(model_dir, CONFIG_FILE)


def best_weights_path(model_dir: str) -> str:
    return os.path.join(model_dir, BEST_WEIGHTS)


def read_run_config(model_dir: str) -> dict:
    path = config_path(model_dir)
    if not os.path.isfile(path):
        raise RunDirError(f"{path}: not found (is --model_dir a trained model directory?)")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
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


def comparable(run_config: dict) -> dict:
    """The part of a run config that must match to resume (not epochs, logging, data paths)."""
    train = {k: v for k, v in run_config.get("train", {}).items() if k not in RESUMABLE_FIELDS}
    return {"task": run_config.get("task"), "model": run_config.get("model"), "train": train}


def prepare_run_dir(model_dir: str, run_config: dict) -> bool:
    """Creates model_dir or checks that it holds the same configuration.

    Returns True when a previous run's config.json exists (and matches), i.e. training resumes.
    Raises RunDirError listing the differences when model_dir holds another configuration.
    """
    os.makedirs(model_dir, exist_ok=True)
    path = config_path(model_dir)
    if os.path.exists(path):
        old = read_run_config(model_dir)
        diffs = _differences(comparable(old), comparable(run_config))
        if diffs:
            raise RunDirError(
                f"{model_dir} holds a different configuration, refusing to resume "
                f"({'; '.join(diffs[:6])}); use a new --model_dir"
            )
        write_json_atomic(path, run_config)  # records e.g. a raised --epochs
        return True
    write_json_atomic(path, run_config)
    return False


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
    line = json.dumps(_null_if_not_finite(record), sort_keys=True, allow_nan=False)
    with open(os.path.join(model_dir, METRICS_FILE), "a", encoding="utf-8") as f:
        f.write(line + "\n")


def write_best_info(model_dir: str, epoch: int, metric: str, value: float) -> None:
    write_json_atomic(
        os.path.join(model_dir, BEST_INFO), {"epoch": epoch, "metric": metric, "value": value}
    )
