"""The experiment config: task, model, data, trainer (optimizer, schedule) and export, nested.

Every default of a run lives here (and in the model's own config class): binaries' flags are
shortcuts that set fields, they restate no default. A resolved config is written to
`model_dir/params.yaml`; `ave_eval`/`ave_export` rebuild the model from it, and training it
again from that file reproduces the run.

    task:    {name: supervised, use_noisy: true, val_split: val}
    model:   {name: localization, modality: av, attention: true, fusion: dmrn, ...}
    data:    {data_dir: ..., shuffle_buffer_mb: 256, range_records: 4, ...}
    trainer: {epochs: 30, batch_size: 64, seed: 0, optimizer: {...}, schedule: {...}, ...}
    export:  {model_name: ave, warmup: true}
"""

import dataclasses
import math

from ave_tf.models.config import ModelConfig
from ave_tf.models.registry import model_config_class
from ave_tf.utils import hyperparams

STRATEGIES = ("default", "mirrored", "multi_worker")
MIXED_PRECISION = ("", "mixed_bfloat16", "mixed_float16")
OPTIMIZERS = ("adam",)
LR_SCHEDULES = ("constant", "step", "multistep", "cosine")


@dataclasses.dataclass
class TaskConfig:
    """What is learned and how an epoch is selected.

    Attributes:
      name: a registered task (`ave_tf/training/task_registry.py`): "supervised" (a label per
        segment), "weak" (video labels, MIL pooling) or "cross_modal" (AVDLN/DCCA).
      use_noisy: weak task: also train on the `train_noisy` background-only videos if present.
      val_split: the split that selects the checkpoint (never test).
      loss: localization tasks: a registered loss (`ave_tf/training/losses.py`):
        "cross_entropy" (softmax cross-entropy of the logits),
        "multilabel_soft_margin_on_softmax" (the authors' code: PyTorch's MultiLabelSoftMarginLoss
        applied to the softmax probabilities, kept for comparison), or a model family's own.
    """

    name: str = "supervised"
    use_noisy: bool = True
    val_split: str = "val"
    loss: str = "cross_entropy"


@dataclasses.dataclass
class DataConfig:
    """Where the records are and how the training split is read.

    Attributes:
      data_dir: dataset directory (dataset.json + shards).
      shuffle_buffer: records held for shuffling; 0 = as many as `shuffle_buffer_mb` holds.
      shuffle_buffer_mb: memory budget of the automatic shuffle buffer, in MiB.
      range_records: the training split is read as ranges of this many consecutive records in a
        random order each epoch, so batches are i.i.d.-like whatever the order on disk (0 = whole
        shards in random order).
      cache: "" (stream), "memory" or a cache file path for the serialized training records, or
        "parsed": the parsed features of training and validation in memory (float32, ~1 MB
        per 10-s video), so epochs after the first skip the parse.
      skip_corrupt: skip unreadable records (logged) instead of failing on a corrupt shard.
      drop_remainder: each epoch trains on whole batches only (len // batch_size steps), as
        scripts that loop over that many batches do (PSP's); the videos left over that epoch
        are the shuffle's last ones, so every video still takes its turn.
    """

    data_dir: str = ""
    shuffle_buffer: int = 0
    shuffle_buffer_mb: int = 256
    range_records: int = 4
    cache: str = ""
    skip_corrupt: bool = False
    drop_remainder: bool = False


@dataclasses.dataclass
class OptimizerConfig:
    """name: "adam"; learning_rate: its (initial) learning rate (the authors use 1e-3);
    epsilon: Adam's epsilon (Keras' default 1e-7; the authors' PyTorch code uses 1e-8);
    global_clipnorm: > 0 rescales the gradients so their global norm is at most this before
    each update (PyTorch's clip_grad_norm_; Keras clips each replica's gradients before the
    all-reduce, so with several replicas it bounds each replica's share); 0 = no clipping;
    pytorch: Adam as the authors' PyTorch code trains (torch.optim.Adam's epsilon placement,
    nn.LSTM's two biases per LSTM, clip_grad_norm_; ave_tf.training.torch_adam)."""

    name: str = "adam"
    learning_rate: float = 1e-3
    epsilon: float = 1e-7
    global_clipnorm: float = 0.0
    pytorch: bool = False


@dataclasses.dataclass
class ScheduleConfig:
    """The learning rate: "constant", "step" (x decay_rate every decay_epochs, or every
    decay_steps optimizer steps when decay_steps > 0, as PyTorch's StepLR stepped per batch),
    "multistep" (x decay_rate at each epoch listed in milestones, as PyTorch's MultiStepLR) or
    "cosine" (over the epochs)."""

    name: str = "step"
    decay_epochs: int = 10
    decay_rate: float = 0.5
    decay_steps: int = 0
    milestones: list[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class TrainerConfig:
    """The training loop.

    Attributes:
      epochs: total epochs; resuming continues up to this number.
      batch_size: videos per global batch.
      seed: seeds weights, data order and dropout; runs with the same seed are identical.
      optimizer, schedule: see their classes.
      max_steps_per_epoch: 0 = a full pass over the training split.
      mixed_precision: "", "mixed_bfloat16" or "mixed_float16".
      strategy: tf.distribute strategy: "default", "mirrored" or "multi_worker" (TF_CONFIG).
      keep_checkpoints: how many epoch checkpoints to keep.
      validate_every: validate (and possibly select) after epochs 1, 1 + n, 1 + 2n, ... and
        after the last (the authors validate every 5th epoch); 1 = every epoch.
      log_attention_videos: validation videos whose attention maps go to TensorBoard.
      deterministic: op determinism and ordered input (reproducible runs, a little slower).
      verbose: Keras-style progress bar and per-epoch lines.
    """

    epochs: int = 30
    batch_size: int = 64
    seed: int = 0
    optimizer: OptimizerConfig = dataclasses.field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = dataclasses.field(default_factory=ScheduleConfig)
    max_steps_per_epoch: int = 0
    mixed_precision: str = ""
    strategy: str = "default"
    keep_checkpoints: int = 3
    validate_every: int = 1
    log_attention_videos: int = 4
    deterministic: bool = True
    verbose: bool = True


@dataclasses.dataclass
class ExportConfig:
    """model_name: the name in models.config and warm-up requests; warmup: store them."""

    model_name: str = "ave"
    warmup: bool = True


@dataclasses.dataclass
class ExperimentConfig:
    """A complete, reproducible run. See the module docstring for the YAML layout.

    Attributes:
      experiment: the registered experiment this config was resolved from ("" if none).
      imports: modules imported before the config is resolved, so that models, tasks and
        experiments defined outside ave_tf register themselves (e.g. "my_lab.my_model").
      task, model, data, trainer, export: the sections; `model` is the config of a registered
        model, chosen by its `name`.
    """

    experiment: str = ""
    imports: list[str] = dataclasses.field(default_factory=list)
    task: TaskConfig = dataclasses.field(default_factory=TaskConfig)
    model: object = hyperparams.registered_field(model_config_class, ModelConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    trainer: TrainerConfig = dataclasses.field(default_factory=TrainerConfig)
    export: ExportConfig = dataclasses.field(default_factory=ExportConfig)

    def validate(self) -> "ExperimentConfig":
        """Raises ValueError naming the first invalid field (dotted path); returns self."""
        trainer, data = self.trainer, self.data
        checks = (
            ("trainer.epochs", trainer.epochs >= 1, "must be >= 1"),
            ("trainer.batch_size", trainer.batch_size >= 1, "must be >= 1"),
            ("trainer.optimizer.name", trainer.optimizer.name in OPTIMIZERS, _one_of(OPTIMIZERS)),
            ("trainer.optimizer.learning_rate", trainer.optimizer.learning_rate > 0, "must be > 0"),
            ("trainer.schedule.name", trainer.schedule.name in LR_SCHEDULES, _one_of(LR_SCHEDULES)),
            ("trainer.schedule.decay_epochs", trainer.schedule.decay_epochs >= 1, "must be >= 1"),
            (
                "trainer.schedule.decay_rate",
                0 < trainer.schedule.decay_rate <= 1,
                "must be in (0, 1]",
            ),
            ("trainer.max_steps_per_epoch", trainer.max_steps_per_epoch >= 0, "must be >= 0"),
            (
                "trainer.mixed_precision",
                trainer.mixed_precision in MIXED_PRECISION,
                _one_of(MIXED_PRECISION),
            ),
            ("trainer.strategy", trainer.strategy in STRATEGIES, _one_of(STRATEGIES)),
            ("trainer.keep_checkpoints", trainer.keep_checkpoints >= 1, "must be >= 1"),
            ("trainer.validate_every", trainer.validate_every >= 1, "must be >= 1"),
            ("trainer.optimizer.epsilon", trainer.optimizer.epsilon > 0, "must be > 0"),
            ("trainer.schedule.decay_steps", trainer.schedule.decay_steps >= 0, "must be >= 0"),
            (
                "trainer.schedule.milestones",
                all(m >= 1 for m in trainer.schedule.milestones)
                and (trainer.schedule.name != "multistep" or trainer.schedule.milestones),
                "must be epochs >= 1 (and given for multistep)",
            ),
            (
                "trainer.optimizer.global_clipnorm",
                trainer.optimizer.global_clipnorm >= 0,
                "must be >= 0 (0 = no clipping)",
            ),
            ("trainer.log_attention_videos", trainer.log_attention_videos >= 0, "must be >= 0"),
            ("data.shuffle_buffer", data.shuffle_buffer >= 0, "must be >= 0 (0 = from budget)"),
            ("data.shuffle_buffer_mb", data.shuffle_buffer_mb >= 1, "must be >= 1"),
            ("data.range_records", data.range_records >= 0, "must be >= 0 (0 = whole shards)"),
            ("task.val_split", self.task.val_split != "test", "model selection never uses test"),
        )
        for path, ok, requirement in checks:
            if not ok:
                raise ValueError(f"{path}={self.get(path)!r}: {requirement}")
        if hasattr(self.model, "validate"):
            try:
                self.model.validate()
            except ValueError as e:
                raise ValueError(f"model ({hyperparams.config_name(self.model)}): {e}") from None
        return self

    def get(self, path: str):
        """The value at a dotted field path, e.g. "trainer.optimizer.learning_rate"."""
        value = self
        for part in path.split("."):
            value = getattr(value, part)
        return value

    @property
    def model_name(self) -> str:
        return hyperparams.config_name(self.model)

    def learning_rate_at(self, epoch: int, step: int = 0) -> float:
        """The learning rate of a (0-based) epoch and optimizer step (0-based, counted over the
        whole run): a function of both, so resuming is exact."""
        base, schedule = self.trainer.optimizer.learning_rate, self.trainer.schedule
        if schedule.name == "step" and schedule.decay_steps:
            return base * schedule.decay_rate ** (step // schedule.decay_steps)
        if schedule.name == "step":
            return base * schedule.decay_rate ** (epoch // schedule.decay_epochs)
        if schedule.name == "multistep":
            return base * schedule.decay_rate ** sum(epoch >= m for m in schedule.milestones)
        if schedule.name == "cosine":
            return base * 0.5 * (1 + math.cos(math.pi * epoch / self.trainer.epochs))
        return base

    def to_dict(self) -> dict:
        return hyperparams.to_dict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ExperimentConfig":
        """Strict: unknown fields and wrong types raise ConfigError naming the dotted path."""
        return hyperparams.from_dict(cls, values)

    def override(self, values: dict) -> "ExperimentConfig":
        """A copy with the nested `values` merged in (strictly checked)."""
        return hyperparams.override(self, values)


def _one_of(choices) -> str:
    return f"must be one of {choices}"


# Fields that may differ when a run resumes in its model_dir: they do not change what is
# trained (how long, what is logged, where the data is and how it is read into memory).
RESUMABLE_FIELDS = (
    "experiment",
    "imports",
    "data",
    "export",
    "trainer.epochs",
    "trainer.log_attention_videos",
    "trainer.keep_checkpoints",
    "trainer.verbose",
)


def comparable(values: dict) -> dict:
    """A params dict without the RESUMABLE_FIELDS (what must match for a run to resume)."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in values.items()}
    for path in RESUMABLE_FIELDS:
        node = out
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(leaf, None)
    return out
