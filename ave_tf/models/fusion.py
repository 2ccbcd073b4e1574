"""Maps `ModelConfig.fusion` names to the fusion layers of `ave_tf.layers` (Table 2)."""

import keras

from ave_tf import layers
from ave_tf.models.config import ModelConfig

# Fusions whose layer takes (units, rank).
_BILINEAR = {
    "bilinear": layers.MultimodalBilinearFusion,
    "gated_bilinear": layers.GatedMultimodalBilinearFusion,
}
# Fusions whose layer takes (units).
_PROJECTING = {
    "additive": layers.AdditiveFusion,
    "max": layers.MaxPoolingFusion,
    "gated": layers.GatedFusion,
    "gmu": layers.GatedMultimodalUnit,
}


def build_fusion_layer(config: ModelConfig, units: int | None, name: str) -> keras.layers.Layer:
    """Returns the layer fusing `(audio, visual)` for `config.fusion`.

    Args:
        config: the model configuration.
        units: the fused width (None: residual fusions keep the common input width).
        name: the layer name.

    "dmrfe" is not a feature fusion (it outputs class log-probabilities) and is built by the
    model builder itself.
    """
    if config.fusion == "concat":
        return layers.ConcatFusion(name=name)
    if config.fusion in _PROJECTING:
        return _PROJECTING[config.fusion](units, name=name)
    if config.fusion in _BILINEAR:
        return _BILINEAR[config.fusion](units, rank=config.bilinear_rank, name=name)
    if config.fusion == "mrn":
        return layers.MultimodalResidualFusion(units, blocks=config.dmrn_blocks, name=name)
    if config.fusion == "dmrn":
        return layers.DualMultimodalResidualFusion(units, blocks=config.dmrn_blocks, name=name)
    raise ValueError(f"ModelConfig.fusion={config.fusion!r} has no feature-fusion layer")
