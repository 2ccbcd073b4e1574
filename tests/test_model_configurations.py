"""Every localization-model configuration builds and runs a forward pass for T=10 and T=3."""

import numpy as np
import pytest

from ave_tf.models.localization import build_localization_model
from tests.model_configs import (
    covering_configs,
    every_valid_config,
    model_inputs,
    numpy_outputs,
)

NUM_CLASSES = 29


def _check_forward(model, config, steps):
    outputs = numpy_outputs(model(model_inputs(2, steps)))
    expected_keys = {"logits", "attention"} | ({"video_logits"} if config.task == "weak" else set())
    assert set(outputs) == expected_keys, config.paper_name()
    assert outputs["logits"].shape == (2, steps, NUM_CLASSES)
    assert outputs["attention"].shape == (2, steps, 49)
    for name, value in outputs.items():
        assert value.dtype == np.float32, name
        assert np.all(np.isfinite(value)), f"{config.paper_name()}: {name} not finite"
    np.testing.assert_allclose(outputs["attention"].sum(-1), 1.0, rtol=1e-5)
    if not config.attention:
        np.testing.assert_allclose(outputs["attention"], 1 / 49, rtol=1e-6)
    if config.task == "weak":
        pool = np.mean if config.mil_pooling == "mean" else np.max
        np.testing.assert_allclose(
            outputs["video_logits"], pool(outputs["logits"], axis=1), rtol=1e-5, atol=1e-6
        )


def _check_config(config):
    model = build_localization_model(config)
    for steps in (10, 3):
        _check_forward(model, config, steps)


def _config_id(config):
    return f"{config.task}-{config.paper_name()}"


@pytest.mark.parametrize("config", covering_configs(), ids=_config_id)
def test_covering_configuration_builds_and_runs(config):
    """Every fusion x stage once, and every modality, attention, temporal model and task."""
    _check_config(config)


@pytest.mark.slow
@pytest.mark.parametrize("config", every_valid_config(), ids=_config_id)
def test_every_valid_configuration_builds_and_runs(config):
    _check_config(config)
