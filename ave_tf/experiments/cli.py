"""The experiment flags shared by ave_train, ave_eval and ave_export, and config resolution.

    --experiment=NAME        a registered experiment (default: DEFAULT_EXPERIMENT, or
                             DEFAULT_CROSS_MODAL_EXPERIMENT under --task=cross_modal)
    --config_file=A.yaml     YAML merged in order (repeatable); may name `imports` and a base
                             `experiment` (a params.yaml written by a run is such a file)
    --params_override=...    "a.b=1,c.d=x" or inline YAML, applied last (repeatable)

Resolution: experiment -> config files -> shortcut flags -> params_override. Shortcut flags
(`--epochs`, `--fusion`, ...) set one config field each (SHORTCUTS); they have no defaults of
their own, so a flag not given changes nothing.
"""

import dataclasses

from absl import flags

from ave_tf.experiments.registry import get_experiment
from ave_tf.models import config as model_config
from ave_tf.models import cross_modal
from ave_tf.models.fusion import FUSION_STAGES, fusion_names
from ave_tf.training import experiment_config as ec
from ave_tf.training.experiment_config import ExperimentConfig
from ave_tf.training.task_registry import task_class
from ave_tf.utils import hyperparams, plugins

FLAGS = flags.FLAGS

# The model of A+V-att with DMRN late fusion, the paper's full model (what `make demo` trains).
DEFAULT_EXPERIMENT = "table2/late/dmrn"
DEFAULT_CROSS_MODAL_EXPERIMENT = "table3/avdln"


@dataclasses.dataclass(frozen=True)
class Shortcut:
    """A flag setting one config field (`path`); `choices` for enum flags."""

    flag: str
    path: str
    kind: str  # "string", "integer", "float", "boolean", "enum"
    help: str
    choices: tuple = ()


SHORTCUTS = (
    Shortcut("task", "task.name", "string", "Task (a registered task: supervised, weak, ...)."),
    Shortcut("use_noisy", "task.use_noisy", "boolean", "Weak task: add train_noisy videos."),
    Shortcut("val_split", "task.val_split", "string", "Split that selects the checkpoint."),
    Shortcut("modality", "model.modality", "enum", "Input modalities.", model_config.MODALITIES),
    Shortcut("attention", "model.attention", "boolean", "Audio-guided visual attention."),
    Shortcut("fusion", "model.fusion", "string", "Audio-visual fusion (Table 2)."),
    Shortcut("fusion_stage", "model.fusion_stage", "enum", "Fusion stage.", FUSION_STAGES),
    Shortcut("temporal", "model.temporal", "enum", "Temporal model.", model_config.TEMPORALS),
    Shortcut("hidden_size", "model.hidden_size", "integer", "LSTM hidden size."),
    Shortcut("dmrn_blocks", "model.dmrn_blocks", "integer", "Stacked DMRN/MRN residual blocks."),
    Shortcut("attention_dim", "model.attention_dim", "integer", "Attention projection size d."),
    Shortcut(
        "mil_pooling", "model.mil_pooling", "enum", "Weak MIL pooling.", model_config.MIL_POOLINGS
    ),
    Shortcut("dropout", "model.dropout", "float", "Dropout rate before the classifiers."),
    Shortcut(
        "cross_modal_method", "model.method", "enum", "Cross-modal model.", cross_modal.METHODS
    ),
    Shortcut("margin", "model.margin", "float", "Contrastive loss margin (eq. 10)."),
    Shortcut(
        "negatives", "model.negatives", "enum", "Negative pairs.", cross_modal.NEGATIVE_STRATEGIES
    ),
    Shortcut("epochs", "trainer.epochs", "integer", "Total epochs."),
    Shortcut("batch_size", "trainer.batch_size", "integer", "Videos per batch."),
    Shortcut("seed", "trainer.seed", "integer", "Seeds weights, data order and dropout."),
    Shortcut("learning_rate", "trainer.optimizer.learning_rate", "float", "Learning rate."),
    Shortcut("lr_schedule", "trainer.schedule.name", "enum", "LR schedule.", ec.LR_SCHEDULES),
    Shortcut(
        "lr_decay_epochs",
        "trainer.schedule.decay_epochs",
        "integer",
        "Step schedule: epochs between decays.",
    ),
    Shortcut(
        "lr_decay_rate", "trainer.schedule.decay_rate", "float", "Step schedule: decay factor."
    ),
    Shortcut("max_steps_per_epoch", "trainer.max_steps_per_epoch", "integer", "0 = full pass."),
    Shortcut(
        "mixed_precision", "trainer.mixed_precision", "enum", "Mixed precision.", ec.MIXED_PRECISION
    ),
    Shortcut("strategy", "trainer.strategy", "enum", "tf.distribute strategy.", ec.STRATEGIES),
    Shortcut("keep_checkpoints", "trainer.keep_checkpoints", "integer", "Epoch checkpoints kept."),
    Shortcut(
        "log_attention_videos",
        "trainer.log_attention_videos",
        "integer",
        "Validation videos drawn in TensorBoard.",
    ),
    Shortcut(
        "deterministic", "trainer.deterministic", "boolean", "Reproducible ops and input order."
    ),
    Shortcut("progress", "trainer.verbose", "boolean", "Show a progress bar."),
    Shortcut(
        "shuffle_buffer",
        "data.shuffle_buffer",
        "integer",
        "Records held for shuffling (0: from --shuffle_buffer_mb).",
    ),
    Shortcut(
        "shuffle_buffer_mb",
        "data.shuffle_buffer_mb",
        "integer",
        "Memory budget of the shuffle buffer (MiB).",
    ),
    Shortcut(
        "range_records",
        "data.range_records",
        "integer",
        "Training reads shards as ranges of this many records (0: whole shards).",
    ),
    Shortcut(
        "cache",
        "data.cache",
        "string",
        "'' (stream), 'memory' (serialized records), 'parsed' (parsed features: no parse after "
        "the first epoch, float32 in RAM), or a cache file path.",
    ),
    Shortcut(
        "skip_corrupt",
        "data.skip_corrupt",
        "boolean",
        "Skip unreadable records instead of failing.",
    ),
    Shortcut(
        "model_name",
        "export.model_name",
        "string",
        "Model name in models.config and warm-up requests.",
    ),
    Shortcut("warmup", "export.warmup", "boolean", "Store warm-up requests in assets.extra/."),
)
_BY_FLAG = {s.flag: s for s in SHORTCUTS}


def define_experiment_flags(shortcuts=(), flag_values=FLAGS) -> None:
    """Defines --experiment, --config_file, --params_override and the named shortcut flags."""
    flags.DEFINE_string(
        "experiment",
        None,
        f"A registered experiment (docs/cli.md lists them). Default: {DEFAULT_EXPERIMENT}, or "
        f"{DEFAULT_CROSS_MODAL_EXPERIMENT} with --task=cross_modal.",
        flag_values=flag_values,
    )
    flags.DEFINE_multi_string(
        "config_file",
        [],
        "YAML config merged over the experiment, in order (repeatable).",
        flag_values=flag_values,
    )
    flags.DEFINE_multi_string(
        "params_override",
        [],
        "'a.b=1,c.d=x' or inline YAML, applied last (repeatable).",
        flag_values=flag_values,
    )
    for name in shortcuts:
        shortcut = _BY_FLAG[name]
        text = f"{shortcut.help} Sets {shortcut.path} (default: the experiment's)."
        if shortcut.kind == "enum":
            flags.DEFINE_enum(name, None, list(shortcut.choices), text, flag_values=flag_values)
        else:
            define = getattr(flags, f"DEFINE_{shortcut.kind}")
            define(name, None, text, flag_values=flag_values)


def given_shortcuts(flag_values=FLAGS) -> dict:
    """{flag name: value} of the shortcut flags given on the command line."""
    return {
        s.flag: flag_values[s.flag].value
        for s in SHORTCUTS
        if s.flag in flag_values
        and flag_values[s.flag].present
        and flag_values[s.flag].value is not None
    }


def _set(values: dict, path: str, value) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        values = values.setdefault(part, {})
    values[leaf] = value


def shortcut_values(shortcuts: dict, experiment: ExperimentConfig) -> dict:
    """The nested override dict the given shortcut flags stand for (checked against the model).

    `--task` also sets the model's supervision when the model has one (`model.task`), and a
    single-modality `--modality` resets the fusion to the single-modality default unless
    --fusion/--fusion_stage are given too (a single modality has nothing to fuse).
    """
    values: dict = {}
    model_fields = {f.name for f in dataclasses.fields(experiment.model)}
    for flag, value in shortcuts.items():
        path = _BY_FLAG[flag].path
        if path.startswith("model.") and path.split(".")[1] not in model_fields:
            raise hyperparams.ConfigError(
                f"--{flag}: the model {experiment.model_name!r} has no field "
                f"{path.split('.')[1]!r} (its fields: {', '.join(sorted(model_fields))})"
            )
        if flag == "fusion" and value not in fusion_names():
            raise hyperparams.ConfigError(
                f"--fusion={value!r}: unknown fusion (known: {', '.join(fusion_names())})"
            )
        _set(values, path, value)
    task = shortcuts.get("task")
    if task is not None:
        task_class(task)  # unknown task: one line listing the known ones
        if "task" in model_fields and task in model_config.TASKS:
            _set(values, "model.task", task)
    modality = shortcuts.get("modality")
    if modality is not None and modality != "av" and "fusion" in model_fields:
        if "fusion" not in shortcuts:
            _set(values, "model.fusion", model_config.SINGLE_MODALITY_FUSION)
        if "fusion_stage" not in shortcuts:
            _set(values, "model.fusion_stage", model_config.SINGLE_MODALITY_STAGE)
        if modality == "audio" and "attention" not in shortcuts:
            _set(values, "model.attention", False)
    return values


def resolve_experiment(
    name: str | None,
    config_files=(),
    shortcuts: dict | None = None,
    overrides=(),
    base: ExperimentConfig | None = None,
) -> ExperimentConfig:
    """experiment -> config files -> shortcuts -> overrides, validated.

    `name` None: the first config file's `experiment`, else the default one for the task.
    `base` (e.g. a model_dir's params.yaml) replaces the registered experiment as the start.
    Raises ConfigError / RegistryError / PluginError / ValueError with one-line messages.
    """
    shortcuts = dict(shortcuts or {})
    files = [(path, hyperparams.load_yaml_file(path)) for path in config_files]
    for path, values in files:
        plugins.import_modules(values.get("imports", []), f"{path}: imports")
    if base is None:
        if name is None:
            name = next((v["experiment"] for _, v in files if v.get("experiment")), None)
        if name is None:
            cross = shortcuts.get("task") == "cross_modal"
            name = DEFAULT_CROSS_MODAL_EXPERIMENT if cross else DEFAULT_EXPERIMENT
        config = get_experiment(name)
    else:
        config = base
    for path, values in files:
        try:
            config = config.override(values)
        except ValueError as e:
            raise hyperparams.ConfigError(f"{path}: {e}") from None
    if shortcuts:
        config = config.override(shortcut_values(shortcuts, config))
    for text in overrides:
        try:
            config = config.override(hyperparams.parse_override(text))
        except hyperparams.ConfigError as e:
            message = str(e)
            prefix = "" if message.startswith("--params_override") else "--params_override: "
            raise hyperparams.ConfigError(prefix + message) from None
    if base is None:
        config.experiment = name  # the start, whatever the files said
    plugins.import_modules(config.imports)
    try:
        return config.validate()
    except ValueError as e:
        raise hyperparams.ConfigError(str(e)) from None


def experiment_from_flags(base: ExperimentConfig | None = None) -> ExperimentConfig:
    """The resolved config of the binary's --experiment/--config_file/shortcuts/overrides."""
    return resolve_experiment(
        FLAGS.experiment,
        FLAGS.config_file,
        given_shortcuts(),
        FLAGS.params_override,
        base=base,
    )
