"""TensorBoard summaries of a training run: scalars, per-class accuracy, attention maps."""

import numbers
import os
from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from ave_tf.data import ave_metadata
from ave_tf.utils.metric_values import defined_or_none

# Per-name metric groups logged as "group/name" scalars (e.g. "per_class/Bark").
SCALAR_GROUPS = ("event_vs_background", "per_class")


def scalar_metrics(metrics: Mapping) -> dict:
    """The scalars of one epoch's metrics, groups flattened; undefined ones (None, NaN) are None.

    TensorBoard gets the defined ones, metrics.jsonl all of them (undefined as null).
    """
    flat = {}
    for name, value in metrics.items():
        if name in SCALAR_GROUPS and isinstance(value, Mapping):
            flat.update({f"{name}/{key}": defined_or_none(v) for key, v in value.items()})
        elif value is None or (isinstance(value, numbers.Real) and not isinstance(value, bool)):
            flat[name] = defined_or_none(value)
    return flat


def _write_scalars(metrics: Mapping) -> None:
    for name, value in scalar_metrics(metrics).items():
        if value is not None:  # an undefined metric has no point on the curve
            tf.summary.scalar(name, value)


class TrainLogger:
    """Writes `model_dir/train` and `model_dir/val` event files, one step per epoch."""

    def __init__(self, model_dir: str):
        self.train_writer = tf.summary.create_file_writer(os.path.join(model_dir, "train"))
        self.val_writer = tf.summary.create_file_writer(os.path.join(model_dir, "val"))
        self.class_names = ave_metadata.class_names()

    def log_epoch(self, epoch: int, train: dict, val: dict, attention_sample=None) -> None:
        with self.train_writer.as_default(step=epoch):
            _write_scalars(train)
        with self.val_writer.as_default(step=epoch):
            _write_scalars(val)
            for name, values in (val.get("histograms") or {}).items():
                tf.summary.histogram(name, np.asarray(values))
            if attention_sample is not None:
                self._log_attention(attention_sample)
        self.train_writer.flush()
        self.val_writer.flush()

    def _log_attention(self, sample) -> None:
        from ave_tf.evaluation.attention_plots import attention_image_grid

        images = attention_image_grid(
            sample.attention, sample.labels, sample.predictions, self.class_names
        )
        images = np.asarray(images)
        if images.ndim == 3:
            images = images[None]
        tf.summary.image(
            "attention_maps",
            images.astype(np.float32) / 255.0,
            max_outputs=len(images),
            description="Audio-guided visual attention (7x7) per segment: "
            + ", ".join(sample.video_ids),
        )

    def close(self) -> None:
        self.train_writer.close()
        self.val_writer.close()
