"""The ED-TCN baseline of the paper (section 6.3): V features -> encoder-decoder TCN.

The paper extends ED-TCN (Lea et al. 2017) to supervised audio-visual event localization on
the V model's features (globally averaged VGG-19 pool5 maps) and reports 46.9% against 55.3%
for the LSTM-based V model. Here it is the V model with the LSTM replaced by
`ave_tf.layers.EncoderDecoderTCN`, so it shares inputs, outputs and training with every
other localization model; `temporal="ed_tcn"` also works for the other models.
"""

import dataclasses

import keras

from ave_tf.models.config import ModelConfig
from ave_tf.models.localization import build_localization_model
from ave_tf.models.registry import register_model


@dataclasses.dataclass
class EDTCNConfig(ModelConfig):
    """`ModelConfig` with the baseline's defaults: visual features, no attention, an ED-TCN."""

    modality: str = "visual"
    temporal: str = "ed_tcn"


def ed_tcn_config(**overrides) -> EDTCNConfig:
    """The paper's ED-TCN baseline: visual features, no attention, ED-TCN temporal model."""
    return EDTCNConfig(**overrides).validate()


@register_model("ed_tcn", EDTCNConfig)
def build_ed_tcn_model(config: ModelConfig | None = None, use_cudnn="auto") -> keras.Model:
    """Builds the ED-TCN baseline (`ed_tcn_config()` unless a config is given)."""
    config = config or ed_tcn_config()
    if config.temporal != "ed_tcn":
        raise ValueError(f"ModelConfig.temporal={config.temporal!r}: the baseline needs 'ed_tcn'")
    return build_localization_model(config, use_cudnn=use_cudnn)
