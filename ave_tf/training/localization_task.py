"""Supervised and weakly-supervised event localization as a training task.

A task tells the generic trainer which splits to read, which tensors the model takes, how
to compute the loss and which validation metric selects the best epoch.
"""

import tensorflow as tf

from ave_tf.data import parser, schema
from ave_tf.evaluation.localization_eval import evaluate_localization
from ave_tf.models.config import TASKS as SUPERVISIONS
from ave_tf.models.registry import build_model
from ave_tf.training import losses
from ave_tf.training.task_registry import register_task

MODEL_INPUTS = (parser.AUDIO, parser.VISUAL)
TARGETS = (parser.LABELS, parser.MASK, parser.VIDEO_LABEL)


def global_mean(total: tf.Tensor, count: tf.Tensor) -> tf.Tensor:
    """total / count summed over all replicas, so each replica's gradient sums to the mean."""
    context = tf.distribute.get_replica_context()
    global_count = context.all_reduce(tf.distribute.ReduceOp.SUM, count) if context else count
    return total / tf.maximum(global_count, 1.0)


class LocalizationTask:
    """supervised: cross-entropy over the 29 classes of every labelled segment.
    weak: cross-entropy of the MIL-pooled video prediction against the video label (eq. 7),
    with the `train_noisy` background-only videos added when present (and asked for).

    Any registered model whose outputs include `logits` [batch, T, classes] serves the
    supervised task; the weak task also needs `video_logits` [batch, classes].

    Model selection: supervised uses validation segment accuracy; weak uses the validation
    video-level loss, so a weakly supervised run never looks at segment labels.
    """

    serving_role = "localization"

    def __init__(self, task: str, model_config, use_noisy: bool = True, loss="cross_entropy"):
        if task not in SUPERVISIONS:
            raise ValueError(f"task.name={task!r}: not a localization task")
        # Models of the paper's localization family are built for one supervision.
        built_for = getattr(model_config, "task", task)
        if built_for != task:
            raise ValueError(
                f"task.name={task!r} but the model is built for model.task={built_for!r} "
                "(set both, e.g. --task sets both)"
            )
        try:
            self._loss_fn = losses.get_loss(loss)
        except LookupError as e:
            raise ValueError(f"task.loss={loss!r}: {e.args[0] if e.args else e}") from None
        self.task = task
        self.model_config = model_config
        self.use_noisy = use_noisy
        self.loss = loss
        if task == "supervised":
            self.selection_metric, self.selection_mode = "val_accuracy", "max"
        else:
            self.selection_metric, self.selection_mode = "val_video_loss", "min"

    @classmethod
    def from_experiment(cls, experiment) -> "LocalizationTask":
        task = experiment.task
        return cls(task.name, experiment.model, use_noisy=task.use_noisy, loss=task.loss)

    def build_model(self, use_cudnn="auto"):
        model = build_model(self.model_config, use_cudnn=use_cudnn)
        needed = ["logits"] + (["video_logits"] if self.task == "weak" else [])
        outputs = model.output if isinstance(model.output, dict) else {}
        missing = [name for name in needed if name not in outputs]
        if missing:
            raise ValueError(
                f"model {model.name!r} has no output(s) {missing}, which the {self.task} task "
                f"needs (it has {sorted(outputs)})"
            )
        return model

    @staticmethod
    def validation_split(available_splits, requested: str = "val") -> str:
        return requested

    def train_splits(self, available_splits) -> list[str]:
        splits = ["train"]
        if self.task == "weak" and self.use_noisy and schema.NOISY_SPLIT in available_splits:
            splits.append(schema.NOISY_SPLIT)
        return splits

    @staticmethod
    def select(batch: dict) -> dict:
        """Keeps the tensors a training step needs (drops strings before distribution)."""
        return {k: batch[k] for k in MODEL_INPUTS + TARGETS}

    @staticmethod
    def model_inputs(batch: dict) -> dict:
        return {k: batch[k] for k in MODEL_INPUTS}

    def loss_and_metrics(self, batch: dict, outputs: dict):
        """Per-replica (loss scaled to the global mean, correct predictions, predictions).

        The accuracy counts labelled segments (supervised) or labelled videos (weak) itself:
        a loss's own count may be of other units (CMBS's is videos for segment labels).
        """
        total, count = self._loss_fn(self.task, batch, outputs)
        if self.task == "supervised":
            labels = batch[parser.LABELS]
            predictions = tf.argmax(outputs["logits"], axis=-1, output_type=tf.int32)
        else:
            labels = batch[parser.VIDEO_LABEL]
            predictions = tf.argmax(outputs["video_logits"], axis=-1, output_type=tf.int32)
        valid = labels >= 0
        correct = tf.reduce_sum(tf.cast(tf.logical_and(valid, predictions == labels), tf.float32))
        return global_mean(total, count), correct, tf.reduce_sum(tf.cast(valid, tf.float32))

    def validate(self, model, dataset, keep_attention: int = 0):
        """Validation metrics (see evaluation.localization_eval) and an attention sample."""
        return evaluate_localization(model, dataset, keep_attention=keep_attention)

    def evaluate(self, model, data_dir: str, split: str, input_config, keep_attention: int = 0):
        """(metrics, attention sample) of `split`: the paper's accuracy, per class, confusion."""
        from ave_tf.data import pipeline

        dataset = pipeline.make_dataset(data_dir, split, input_config)
        return evaluate_localization(model, dataset, keep_attention=keep_attention)


for _name in SUPERVISIONS:
    register_task(_name)(LocalizationTask)
