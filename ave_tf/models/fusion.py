"""The fusions of Table 2 by name, with the stages each exists at: the one list of fusions.

`register_fusion(name, stages=...)` adds one: a builder `(config, units, name) -> layer` whose
layer maps `(audio, visual)` to fused features. `ModelConfig.fusion` is validated against this
registry, the binaries' `--fusion` choices come from it and Table 2's experiments iterate it.
"""

import dataclasses
from collections.abc import Callable

import keras

from ave_tf import layers
from ave_tf.utils.registry import Registry

# Where two modalities meet: segment features (one temporal model over the fused features),
# the temporal models' outputs (the paper's main setting) or per-modality class logits.
FUSION_STAGES = ("early", "late", "decision")
FUSIONS = Registry("fusion")


@dataclasses.dataclass(frozen=True)
class FusionSpec:
    """build(config, units, name) -> layer; None for fusions the model builder makes itself."""

    name: str
    build: Callable | None
    stages: tuple[str, ...] = FUSION_STAGES
    in_paper_table2: bool = False


def register_fusion(name, build, stages=FUSION_STAGES, in_paper_table2=False) -> FusionSpec:
    """Registers `build(config, units, name) -> layer` (None: built by the model builder)."""
    unknown = [s for s in stages if s not in FUSION_STAGES]
    if unknown or not stages:
        raise ValueError(f"fusion {name!r}: stages {stages} must be among {FUSION_STAGES}")
    return FUSIONS.register(name, FusionSpec(name, build, tuple(stages), in_paper_table2))


def fusion_names() -> tuple[str, ...]:
    return FUSIONS.names()


def fusion_stages(name: str) -> tuple[str, ...]:
    return FUSIONS.get(name).stages


def build_fusion_layer(config, units: int | None, name: str) -> keras.layers.Layer:
    """The layer fusing `(audio, visual)` for `config.fusion` at width `units`.

    "dmrfe" is not a feature fusion (it outputs class log-probabilities): the model builder
    makes it itself.
    """
    spec = FUSIONS.get(config.fusion)
    if spec.build is None:
        raise ValueError(f"ModelConfig.fusion={config.fusion!r} has no feature-fusion layer")
    return spec.build(config, units, name)


def _projecting(layer_class):
    return lambda config, units, name: layer_class(units, name=name)


def _bilinear(layer_class):
    return lambda config, units, name: layer_class(units, rank=config.bilinear_rank, name=name)


def _residual(layer_class):
    return lambda config, units, name: layer_class(units, blocks=config.dmrn_blocks, name=name)


# Table 2, in the paper's order of rows: concatenation is Table 1's fusion.
for _name, _build in (
    ("concat", lambda config, units, name: layers.ConcatFusion(name=name)),
    ("additive", _projecting(layers.AdditiveFusion)),
    ("max", _projecting(layers.MaxPoolingFusion)),
    ("gated", _projecting(layers.GatedFusion)),
    ("bilinear", _bilinear(layers.MultimodalBilinearFusion)),
    ("gated_bilinear", _bilinear(layers.GatedMultimodalBilinearFusion)),
    ("gmu", _projecting(layers.GatedMultimodalUnit)),
    ("mrn", _residual(layers.MultimodalResidualFusion)),
    (
        "dmrn",
        lambda config, units, name: layers.DualMultimodalResidualFusion(
            units, blocks=config.dmrn_blocks, update_layers=config.dmrn_update_layers, name=name
        ),
    ),
):
    register_fusion(_name, _build, in_paper_table2=True)
# Table 2 has DMRFE results for late fusion only; the localization model builds it (it outputs
# class log-probabilities, not features).
register_fusion("dmrfe", None, stages=("late",), in_paper_table2=True)
