"""Rebuilds a trained model from its model_dir (config.json + best.weights.h5)."""

import os

from ave_tf.training.run_dir import RunDirError, best_weights_path, read_run_config


def build_model_from_run_config(run_config: dict, use_cudnn="auto"):
    """(keras.Model, task, model config) for a run config, weights freshly initialized."""
    task = run_config.get("task")
    if task in ("supervised", "weak"):
        from ave_tf.models.config import ModelConfig
        from ave_tf.models.localization import build_localization_model

        config = ModelConfig.from_dict(run_config["model"])
        return build_localization_model(config, use_cudnn=use_cudnn), task, config
    if task == "cross_modal":
        from ave_tf.models.cross_modal import CrossModalConfig, build_cross_modal_model

        config = CrossModalConfig.from_dict(run_config["model"])
        return build_cross_modal_model(config), task, config
    raise RunDirError(f"unknown task {task!r} in config.json")


def load_trained_model(model_dir: str, use_cudnn=False):
    """Returns (keras.Model, task, model config) with the validation-selected weights.

    `use_cudnn=False` (the default here) rebuilds recurrent layers without the GPU-only
    CudnnRNN op, so a model trained on a GPU exports and serves on a CPU.
    """
    run_config = read_run_config(model_dir)
    model, task, config = build_model_from_run_config(run_config, use_cudnn=use_cudnn)
    weights = best_weights_path(model_dir)
    if not os.path.isfile(weights):
        raise RunDirError(
            f"{weights}: not found (no epoch finished yet, or no epoch had a defined "
            "validation metric to select it: see metrics.jsonl)"
        )
    model.load_weights(weights)
    return model, task, config
