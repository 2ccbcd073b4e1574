"""Tiny localization-model configurations and inputs shared by the model tests (fast on a CPU)."""

import itertools

import keras
import numpy as np

from ave_tf.models import config as model_config
from ave_tf.models.fusion import FUSION_STAGES, fusion_names, fusion_stages

# Small widths so that hundreds of models build in a test; the graph is the same as at full size.
TINY = dict(
    hidden_size=8, attention_dim=8, attention_hidden_dim=4, tcn_filters=(8, 8), tcn_kernel_size=3
)


def tiny_config(**overrides) -> model_config.ModelConfig:
    return model_config.ModelConfig(**{**TINY, **overrides})


def every_valid_config() -> list[model_config.ModelConfig]:
    """Every (task, modality, attention, fusion, stage, temporal) combination that validates."""
    configs = []
    for task, modality, attention, fusion, stage, temporal in itertools.product(
        model_config.TASKS,
        model_config.MODALITIES,
        (False, True),
        fusion_names(),
        FUSION_STAGES,
        model_config.TEMPORALS,
    ):
        config = tiny_config(
            task=task,
            modality=modality,
            attention=attention,
            fusion=fusion,
            fusion_stage=stage,
            temporal=temporal,
        )
        try:
            configs.append(config.validate())
        except ValueError:
            continue
    return configs


def covering_configs() -> list[model_config.ModelConfig]:
    """A small set in which every fusion meets every stage and every other value appears.

    Each (fusion, stage) pair of the audio-visual models appears once, with attention, temporal
    model and task cycling; then every single-modality model with each temporal model.
    """
    configs = []
    av_pairs = [(fusion, stage) for fusion in fusion_names() for stage in fusion_stages(fusion)]
    for index, (fusion, stage) in enumerate(av_pairs):
        configs.append(
            tiny_config(
                task=model_config.TASKS[index % 2],
                attention=index % 3 != 0,
                fusion=fusion,
                fusion_stage=stage,
                temporal=model_config.TEMPORALS[index % 3],
            )
        )
    for index, temporal in enumerate(model_config.TEMPORALS):
        configs.append(
            tiny_config(modality="audio", temporal=temporal, task=model_config.TASKS[index % 2])
        )
        configs.append(
            tiny_config(
                modality="visual",
                attention=index % 2 == 0,
                temporal=temporal,
                task=model_config.TASKS[(index + 1) % 2],
            )
        )
    return configs


def model_inputs(batch, steps, seed=0, audio_shape=(128,)):
    """Random model inputs {"audio": [batch, steps, *audio_shape], "visual": [..., 7, 7, 512]}."""
    rng = np.random.default_rng(seed)
    return {
        "audio": rng.uniform(size=(batch, steps, *audio_shape)).astype("float32"),
        "visual": rng.uniform(size=(batch, steps, 7, 7, 512)).astype("float32"),
    }


def numpy_outputs(outputs: dict) -> dict:
    return {name: keras.ops.convert_to_numpy(value) for name, value in outputs.items()}
