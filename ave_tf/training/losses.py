"""The localization tasks' losses by name: `task.loss` picks one, a model family may add its own.

    @register_loss("my_loss")
    def my_loss(task: str, batch: dict, outputs: dict) -> tuple[tf.Tensor, tf.Tensor]:
        ...  # (sum of the per-row losses of this replica, number of rows)

`task` is "supervised" or "weak"; `batch` holds the targets (`labels` [B, T] with -1 on padding,
`mask`, `video_label`), `outputs` every output of the model. The trainer divides the sum by the
rows of all replicas, so a loss made of several terms returns each already weighted per row (see
the zoo models, e.g. an event-relevance term beside the classification one).
Built-in losses are defined here; others register from the module of the model they belong to.
"""

import tensorflow as tf

from ave_tf.data import parser
from ave_tf.utils.registry import Registry

LOSSES = Registry("loss")


def register_loss(name: str):
    """Decorator registering `fn(task, batch, outputs) -> (total, count)` under `name`."""
    return LOSSES.register(name)


def get_loss(name: str):
    return LOSSES.get(name)


def segment_cross_entropy(labels, logits):
    """Sum of per-row cross-entropies over labelled rows (segments, or videos for the weak
    task's video logits), and their count."""
    valid = tf.cast(labels >= 0, tf.float32)
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.maximum(labels, 0), logits=tf.cast(logits, tf.float32)
    )
    return tf.reduce_sum(ce * valid), tf.reduce_sum(valid)


def softmax_multilabel_soft_margin(labels, logits, num_classes):
    """The authors' loss, summed over labelled rows, and their count.

    PyTorch's MultiLabelSoftMarginLoss applied to softmax *probabilities* p (not logits), per
    row the mean over classes of `y log sigmoid(p) + (1 - y) log sigmoid(-p)`, negated; its
    minimum is 0.680 (a one-hot p), so its gradient stays small.
    """
    valid = tf.cast(labels >= 0, tf.float32)
    probabilities = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
    one_hot = tf.one_hot(tf.maximum(labels, 0), num_classes, dtype=tf.float32)
    per_class = tf.nn.sigmoid_cross_entropy_with_logits(labels=one_hot, logits=probabilities)
    per_row = tf.reduce_mean(per_class, axis=-1)
    return tf.reduce_sum(per_row * valid), tf.reduce_sum(valid)


def task_targets(task: str, batch: dict, outputs: dict):
    """(labels, logits) the task classifies: segments (supervised) or videos (weak)."""
    if task == "supervised":
        return batch[parser.LABELS], outputs["logits"]
    return batch[parser.VIDEO_LABEL], outputs["video_logits"]


@register_loss("cross_entropy")
def cross_entropy(task: str, batch: dict, outputs: dict):
    return segment_cross_entropy(*task_targets(task, batch, outputs))


@register_loss("multilabel_soft_margin_on_softmax")
def multilabel_soft_margin_on_softmax(task: str, batch: dict, outputs: dict):
    labels, logits = task_targets(task, batch, outputs)
    return softmax_multilabel_soft_margin(labels, logits, logits.shape[-1])
