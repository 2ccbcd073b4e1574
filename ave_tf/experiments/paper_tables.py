"""Every configuration of the paper's tables as a registered experiment.

Table 1 (`table1/a` ... `table1/av_att`, weakly supervised `table1/weak_*`), Table 2 (every
registered paper fusion at every stage it exists at on A+V-att features: `table2/late/dmrn`,
`table2/early/gmu`, ...), the ED-TCN baseline of Sec. 6.3 (`ed_tcn/v`) and Table 3
(`table3/avdln`, `table3/dcca`). All share the trainer defaults of `ExperimentConfig`.
"""

from ave_tf.experiments.registry import register_experiment
from ave_tf.models.config import ModelConfig
from ave_tf.models.cross_modal import CrossModalConfig
from ave_tf.models.ed_tcn import EDTCNConfig
from ave_tf.models.fusion import FUSION_STAGES, FUSIONS
from ave_tf.training.experiment_config import ExperimentConfig, TaskConfig


def localization(task: str, **model) -> ExperimentConfig:
    return ExperimentConfig(task=TaskConfig(name=task), model=ModelConfig(task=task, **model))


# Table 1: audio-visual rows fuse by concatenating the LSTM outputs (the table's caption).
_TABLE1 = (
    ("a", "A", dict(modality="audio")),
    ("v", "V", dict(modality="visual")),
    ("v_att", "V-att", dict(modality="visual", attention=True)),
    ("av", "A+V", dict(modality="av")),
    ("av_att", "A+V-att", dict(modality="av", attention=True)),
)
for _prefix, _label_prefix, _task in (("", "", "supervised"), ("weak_", "W-", "weak")):
    for _name, _label, _model in _TABLE1:
        register_experiment(f"table1/{_prefix}{_name}", "table1", _label_prefix + _label)(
            lambda task=_task, model=_model: localization(task, **model)
        )

# Table 2: the fusions on the attended audio-visual features, at every stage they exist at.
for _stage in FUSION_STAGES:
    for _fusion, _spec in FUSIONS.items():
        if _spec.in_paper_table2 and _stage in _spec.stages:
            register_experiment(f"table2/{_stage}/{_fusion}", "table2", f"{_stage}/{_fusion}")(
                lambda stage=_stage, fusion=_fusion: localization(
                    "supervised", modality="av", attention=True, fusion=fusion, fusion_stage=stage
                )
            )


@register_experiment("ed_tcn/v", "ed_tcn", "ED-TCN")
def ed_tcn() -> ExperimentConfig:
    """The ED-TCN temporal-convolution baseline on the V model's features (Sec. 6.3)."""
    return ExperimentConfig(model=EDTCNConfig())


@register_experiment("table3/avdln", "table3", "AVDLN")
def avdln() -> ExperimentConfig:
    return ExperimentConfig(task=TaskConfig(name="cross_modal"), model=CrossModalConfig())


@register_experiment("table3/dcca", "table3", "DCCA")
def dcca() -> ExperimentConfig:
    return ExperimentConfig(
        task=TaskConfig(name="cross_modal"), model=CrossModalConfig(method="dcca")
    )
