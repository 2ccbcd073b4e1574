"""Rebuilds a trained model from its model_dir (params.yaml + best.weights.h5)."""

from ave_tf.models.registry import build_model
from ave_tf.training.run_dir import (
    RunDirError,
    best_weights_path,
    experiment_from_legacy_config,
    read_experiment,
)
from ave_tf.utils import file_io


def build_model_from_run_config(run_config: dict, use_cudnn="auto"):
    """(keras.Model, task name, model config) of a pre-registry config.json dict."""
    experiment = experiment_from_legacy_config(run_config)
    return (
        build_model(experiment.model, use_cudnn=use_cudnn),
        experiment.task.name,
        experiment.model,
    )


def load_trained_experiment(model_dir: str, use_cudnn=False):
    """(keras.Model with the validation-selected weights, ExperimentConfig) of a model_dir.

    `use_cudnn=False` (the default here) rebuilds recurrent layers without the GPU-only
    CudnnRNN op, so a model trained on a GPU exports and serves on a CPU.
    """
    experiment = read_experiment(model_dir)
    model = build_model(experiment.model, use_cudnn=use_cudnn)
    weights = best_weights_path(model_dir)
    if not file_io.isfile(weights):
        raise RunDirError(
            f"{weights}: not found (no epoch finished yet, or no epoch had a defined "
            "validation metric to select it: see metrics.jsonl)"
        )
    try:
        model.load_weights(weights)
    except ValueError as e:
        raise RunDirError(
            f"{weights}: does not fit the model params.yaml describes ({e}); re-export it with "
            "the ave_tf version that trained it"
        ) from None
    except OSError as e:  # h5py's errors name no file
        raise RunDirError(
            f"{weights}: not a readable weights file ({e}); retrain, or copy it again"
        ) from None
    return model, experiment


def load_trained_model(model_dir: str, use_cudnn=False):
    """(keras.Model, task name, model config) with the validation-selected weights."""
    model, experiment = load_trained_experiment(model_dir, use_cudnn=use_cudnn)
    return model, experiment.task.name, experiment.model
