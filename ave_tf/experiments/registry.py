"""Every configuration of the paper's tables, as ave_train settings.

Names follow the paper: Table 1 ("A", "V-att", "W-A+V-att", ...), Table 2 ("late/dmrn"),
Table 3 ("AVDLN", "DCCA") and the ED-TCN baseline of Sec. 6.3.
"""

import dataclasses

FUSIONS = (
    "additive", "max", "gated", "bilinear", "gmu", "gated_bilinear", "concat", "mrn", "dmrn",
)  # fmt: skip
STAGES = ("early", "late", "decision")


@dataclasses.dataclass(frozen=True)
class Experiment:
    """One row/cell of a paper table.

    Attributes:
      name: the paper's name, "/"-paths for Table 2 cells ("late/dmrn").
      table: "table1", "table2", "table3" or "ed_tcn".
      model: ModelConfig / CrossModalConfig fields.
      task: "supervised", "weak" or "cross_modal".
    """

    name: str
    table: str
    task: str
    model: dict

    def ave_train_flags(self) -> list[str]:
        """The `ave_train` flags that build this configuration (the runner's command line)."""
        flags = [f"--task={self.task}"]
        if self.task == "cross_modal":
            return flags + [f"--cross_modal_method={self.model['method']}"]
        model = self.model
        unknown = set(model) - {
            "task",
            "modality",
            "attention",
            "fusion",
            "fusion_stage",
            "temporal",
        }
        if unknown:
            raise ValueError(f"{self.name}: no ave_train flag for {sorted(unknown)}")
        flags += [
            f"--modality={model['modality']}",
            "--attention" if model["attention"] else "--noattention",
            f"--fusion={model['fusion']}",
            f"--fusion_stage={model['fusion_stage']}",
        ]
        if "temporal" in model:
            flags.append(f"--temporal={model['temporal']}")
        return flags


def _localization(name, table, task, modality, attention, fusion="concat", stage="late", **extra):
    model = dict(
        task=task,
        modality=modality,
        attention=attention,
        fusion=fusion,
        fusion_stage=stage,
        **extra,
    )
    return Experiment(name, table, task, model)


def table1() -> list[Experiment]:
    """A, V, V-att, A+V, A+V-att and their weakly supervised W- versions.

    Audio-visual rows fuse by concatenating the LSTM outputs (the paper's Table 1 caption).
    """
    rows = []
    for prefix, task in (("", "supervised"), ("W-", "weak")):
        rows += [
            _localization(prefix + "A", "table1", task, "audio", False),
            _localization(prefix + "V", "table1", task, "visual", False),
            _localization(prefix + "V-att", "table1", task, "visual", True),
            _localization(prefix + "A+V", "table1", task, "av", False),
            _localization(prefix + "A+V-att", "table1", task, "av", True),
        ]
    return rows


def table2() -> list[Experiment]:
    """Every fusion at every stage on the attended audio-visual features, plus late DMRFE."""
    rows = [
        _localization(f"{stage}/{fusion}", "table2", "supervised", "av", True, fusion, stage)
        for stage in STAGES
        for fusion in FUSIONS
    ]
    rows.append(_localization("late/dmrfe", "table2", "supervised", "av", True, "dmrfe", "late"))
    return rows


def ed_tcn() -> list[Experiment]:
    """The ED-TCN temporal-convolution baseline on the V model's features (Sec. 6.3)."""
    return [
        _localization("ED-TCN", "ed_tcn", "supervised", "visual", False, temporal="ed_tcn"),
    ]


def table3() -> list[Experiment]:
    return [
        Experiment("AVDLN", "table3", "cross_modal", {"method": "avdln"}),
        Experiment("DCCA", "table3", "cross_modal", {"method": "dcca"}),
    ]


TABLES = {"table1": table1, "table2": table2, "ed_tcn": ed_tcn, "table3": table3}


def experiments(tables) -> list[Experiment]:
    out = []
    for table in tables:
        if table not in TABLES:
            raise ValueError(f"--tables: unknown table {table!r} (known: {sorted(TABLES)})")
        out += TABLES[table]()
    return out
