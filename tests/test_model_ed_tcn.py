"""Tests of the ED-TCN baseline model (paper section 6.3)."""

import numpy as np
import pytest

from ave_tf.models.config import ModelConfig
from ave_tf.models.ed_tcn import build_ed_tcn_model, ed_tcn_config


def test_baseline_config_is_the_v_model_with_an_ed_tcn():
    config = ed_tcn_config()
    assert (config.modality, config.attention, config.temporal) == ("visual", False, "ed_tcn")
    assert ed_tcn_config(tcn_kernel_size=3).tcn_kernel_size == 3
    with pytest.raises(ValueError, match="tcn_kernel_size"):
        ed_tcn_config(tcn_kernel_size=0)


@pytest.mark.parametrize("steps", [1, 3, 10, 11])
def test_any_number_of_segments(steps):
    model = build_ed_tcn_model(ed_tcn_config(tcn_filters=(8, 12)))
    rng = np.random.default_rng(steps)
    outputs = model(
        {
            "audio": rng.uniform(size=(2, steps, 128)).astype("float32"),
            "visual": rng.uniform(size=(2, steps, 7, 7, 512)).astype("float32"),
        }
    )
    assert outputs["logits"].shape == (2, steps, 29)
    assert model.get_layer("visual_temporal").filters == (8, 12)


def test_rejects_a_recurrent_config():
    with pytest.raises(ValueError, match="temporal"):
        build_ed_tcn_model(ModelConfig(modality="visual"))
