"""TrainConfig: how a model is trained (the model itself is described by its own config)."""

import dataclasses

TASKS = ("supervised", "weak", "cross_modal")
STRATEGIES = ("default", "mirrored", "multi_worker")
MIXED_PRECISION = ("", "mixed_bfloat16", "mixed_float16")
LR_SCHEDULES = ("constant", "step", "cosine")

# Fields that may differ when resuming a model_dir (they do not change what is trained).
RESUMABLE_FIELDS = (
    "epochs",
    "log_attention_videos",
    "keep_checkpoints",
    "verbose",
    "skip_corrupt",
    # How the input is read: a run started before these existed (or with another memory
    # budget) resumes with the same model and schedule, its data order from then on follows.
    "shuffle_buffer",
    "shuffle_buffer_mb",
    "range_records",
)


@dataclasses.dataclass
class TrainConfig:
    """Training settings, serialized into `model_dir/config.json`.

    Attributes:
      task: "supervised" (segment labels), "weak" (video labels, MIL pooling) or "cross_modal".
      epochs: total epochs; resuming continues up to this number.
      batch_size: videos per global batch.
      learning_rate: Adam learning rate (the authors use 1e-3).
      lr_schedule: "constant", "step" (x lr_decay_rate every lr_decay_epochs) or "cosine".
      lr_decay_epochs, lr_decay_rate: step schedule settings.
      seed: seeds weights, data order and dropout; runs with the same seed are identical.
      shuffle_buffer: records held for shuffling; 0 = as many as `shuffle_buffer_mb` holds
        (at most the split).
      shuffle_buffer_mb: memory budget of the automatic shuffle buffer, in MiB.
      range_records: the training split is read as ranges of this many consecutive records in
        a random order each epoch, so batches are i.i.d.-like whatever the record order on disk
        (0 = whole shards in random order).
      cache: "" (stream), "memory" or a cache file path for the serialized training records.
      use_noisy: weak task: add the `train_noisy` background-only videos when present.
      max_steps_per_epoch: 0 = a full pass over the training split.
      val_split: the split used for model selection (never test).
      mixed_precision: "", "mixed_bfloat16" or "mixed_float16".
      strategy: tf.distribute strategy: "default", "mirrored" or "multi_worker" (TF_CONFIG).
      keep_checkpoints: how many epoch checkpoints to keep.
      log_attention_videos: validation videos whose attention maps go to TensorBoard.
      deterministic: op determinism and ordered input (reproducible runs, a little slower).
      skip_corrupt: skip unreadable records (logged) instead of failing on a corrupt shard.
      verbose: Keras-style progress bar.
    """

    task: str = "supervised"
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3
    lr_schedule: str = "step"
    lr_decay_epochs: int = 10
    lr_decay_rate: float = 0.5
    seed: int = 0
    shuffle_buffer: int = 0
    shuffle_buffer_mb: int = 256
    range_records: int = 4
    cache: str = ""
    use_noisy: bool = True
    max_steps_per_epoch: int = 0
    val_split: str = "val"
    mixed_precision: str = ""
    strategy: str = "default"
    keep_checkpoints: int = 3
    log_attention_videos: int = 4
    deterministic: bool = True
    skip_corrupt: bool = False
    verbose: bool = True

    def validate(self) -> None:
        def check(ok, field, message):
            if not ok:
                raise ValueError(f"--{field}={getattr(self, field)!r}: {message}")

        check(self.task in TASKS, "task", f"must be one of {TASKS}")
        check(self.epochs >= 1, "epochs", "must be >= 1")
        check(self.batch_size >= 1, "batch_size", "must be >= 1")
        check(self.learning_rate > 0, "learning_rate", "must be > 0")
        check(self.lr_schedule in LR_SCHEDULES, "lr_schedule", f"must be one of {LR_SCHEDULES}")
        check(self.lr_decay_epochs >= 1, "lr_decay_epochs", "must be >= 1")
        check(0 < self.lr_decay_rate <= 1, "lr_decay_rate", "must be in (0, 1]")
        check(self.shuffle_buffer >= 0, "shuffle_buffer", "must be >= 0 (0 = from the budget)")
        check(self.shuffle_buffer_mb >= 1, "shuffle_buffer_mb", "must be >= 1")
        check(self.range_records >= 0, "range_records", "must be >= 0 (0 = whole shards)")
        check(self.max_steps_per_epoch >= 0, "max_steps_per_epoch", "must be >= 0")
        check(self.val_split != "test", "val_split", "model selection never uses the test split")
        check(
            self.mixed_precision in MIXED_PRECISION,
            "mixed_precision",
            f"must be one of {MIXED_PRECISION}",
        )
        check(self.strategy in STRATEGIES, "strategy", f"must be one of {STRATEGIES}")
        check(self.keep_checkpoints >= 1, "keep_checkpoints", "must be >= 1")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def learning_rate_at(self, epoch: int) -> float:
        """The learning rate of a (0-based) epoch: epoch-wise, so resuming is exact."""
        import math

        if self.lr_schedule == "step":
            return self.learning_rate * self.lr_decay_rate ** (epoch // self.lr_decay_epochs)
        if self.lr_schedule == "cosine":
            return self.learning_rate * 0.5 * (1 + math.cos(math.pi * epoch / self.epochs))
        return self.learning_rate
