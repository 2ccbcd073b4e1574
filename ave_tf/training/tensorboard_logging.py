"""TensorBoard summaries of a training run: scalars, per-class accuracy, attention maps."""

import os

import numpy as np
import tensorflow as tf

from ave_tf.data import ave_metadata


class TrainLogger:
    """Writes `model_dir/train` and `model_dir/val` event files, one step per epoch."""

    def __init__(self, model_dir: str):
        self.train_writer = tf.summary.create_file_writer(os.path.join(model_dir, "train"))
        self.val_writer = tf.summary.create_file_writer(os.path.join(model_dir, "val"))
        self.class_names = ave_metadata.class_names()

    def log_epoch(self, epoch: int, train: dict, val: dict, attention_sample=None) -> None:
        with self.train_writer.as_default(step=epoch):
            for name, value in train.items():
                tf.summary.scalar(name, value)
        with self.val_writer.as_default(step=epoch):
            for name, value in val.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    tf.summary.scalar(name, value)
            for name, value in (val.get("event_vs_background") or {}).items():
                tf.summary.scalar(f"event_vs_background/{name}", value)
            for name, value in (val.get("per_class") or {}).items():
                if value is not None:
                    tf.summary.scalar(f"per_class/{name}", value)
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
