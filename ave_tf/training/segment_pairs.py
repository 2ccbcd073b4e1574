"""The authors' cross-modal training input: every labelled segment is one pair, shuffled.

`cmm_train.py` (github YapengTian/AVE-ECCV18) flattens the `train_match` videos into their
segments, pairs each segment's audio with its own globally averaged pool5 vector, labels the pair
1 when the segment is an event and 0 when it is background (`labels_closs.h5`), and fits batches
of 8 such pairs drawn from all segments, reshuffled every epoch (Keras' `fit`). With 3339
training videos that is 4174 updates per epoch, 83480 in its 20 epochs.

`SegmentPairs.read` builds the same table once, streaming the split (a video's visual features
are pooled to 512 floats as they are read, so the table is ~2.6 KB per segment: 8.6 MB for the
full-size release). `dataset(batch_size, seed)` serves one epoch of shuffled pair batches in the
layout the cross-modal models take: one-segment "videos" `audio` [n, 1, 128] and `visual`
[n, 1, 7, 7, 512] (the pooled vector repeated over the 7x7 grid: the model's global average of
it is the vector itself), plus `pair_labels` [n].
"""

import dataclasses
import functools
import math

import numpy as np
import tensorflow as tf

from ave_tf.data import parser, pipeline, schema

PAIR_LABELS = "pair_labels"


@dataclasses.dataclass
class SegmentPairs:
    """Synchronized segment pairs of a split: `audio` [S, 128], `visual` [S, 512] (pooled),
    `labels` [S] float32 (1 = event segment, 0 = background)."""

    audio: np.ndarray
    visual: np.ndarray
    labels: np.ndarray

    @property
    def size(self) -> int:
        return int(self.labels.shape[0])

    def steps(self, batch_size: int) -> int:
        """Updates per epoch (the last batch may be smaller, as in Keras' `fit`)."""
        return math.ceil(self.size / batch_size)

    @classmethod
    def read(cls, dataset: tf.data.Dataset) -> "SegmentPairs":
        """The pairs of every labelled real segment of a dataset of parsed video batches."""
        audio, visual, labels = [], [], []
        for batch in dataset.map(_labelled_segments, num_parallel_calls=pipeline.AUTOTUNE):
            audio.append(batch["audio"].numpy())
            visual.append(batch["visual"].numpy())
            labels.append(batch["labels"].numpy())
        if not labels:
            return cls(
                np.zeros([0, schema.AUDIO_DIM], np.float32),
                np.zeros([0, schema.VISUAL_SHAPE[-1]], np.float32),
                np.zeros([0], np.float32),
            )
        return cls(np.concatenate(audio), np.concatenate(visual), np.concatenate(labels))

    @functools.cached_property
    def _table(self) -> tf.data.Dataset:
        # Built once, not per epoch: from_tensor_slices copies the arrays (8.6 MB full size).
        return tf.data.Dataset.from_tensor_slices((self.audio, self.visual, self.labels))

    def dataset(self, batch_size: int, seed: int) -> tf.data.Dataset:
        """One epoch: all pairs in a seeded random order, `batch_size` per batch."""
        ds = self._table.shuffle(max(self.size, 1), seed=seed, reshuffle_each_iteration=False)
        ds = ds.batch(batch_size).map(_as_model_batch, num_parallel_calls=pipeline.AUTOTUNE)
        return ds.prefetch(pipeline.AUTOTUNE)


def _labelled_segments(batch: dict) -> dict:
    """A parsed batch of videos -> its labelled real segments, visual pooled over the grid."""
    labels = tf.cast(batch[parser.LABELS], tf.int32)
    keep = (batch[parser.MASK] > 0) & (labels >= 0)
    pooled = tf.reduce_mean(batch[parser.VISUAL], axis=[2, 3])  # [B, T, 512]
    return {
        "audio": tf.boolean_mask(batch[parser.AUDIO], keep),
        "visual": tf.boolean_mask(pooled, keep),
        "labels": tf.cast(
            tf.not_equal(tf.boolean_mask(labels, keep), schema.BACKGROUND_CLASS), tf.float32
        ),
    }


def _as_model_batch(audio, visual, labels) -> dict:
    grid = schema.VISUAL_SHAPE[:2]
    visual_map = tf.broadcast_to(
        visual[:, None, None, None, :], [tf.shape(visual)[0], 1, *grid, schema.VISUAL_SHAPE[-1]]
    )
    return {parser.AUDIO: audio[:, None], parser.VISUAL: visual_map, PAIR_LABELS: labels}
