"""A tiny labelled dataset with planted audio-visual structure, written as real shards.

Event segments carry the class signal in the audio vector and in a few visual cells; background
segments carry noise only. Small enough for end-to-end tests of training, evaluation, export.
"""

import numpy as np

from ave_tf.data import ave_metadata, example_codec, schema
from ave_tf.data.dataset_info import DatasetInfo
from ave_tf.data.shard_writer import DatasetWriter

SPLIT_SIZES = {"train": 48, "val": 12, "test": 12, "train_noisy": 6}
NUM_USED_CLASSES = 4


def make_video(rng, class_index: int, start: int, end: int, num_segments: int = 10):
    audio = rng.random((num_segments, schema.AUDIO_DIM)).astype(np.float32) * 0.2
    visual = rng.random((num_segments, *schema.VISUAL_SHAPE)).astype(np.float32) * 0.2
    labels = np.full([num_segments], schema.BACKGROUND_CLASS, np.int64)
    for t in range(start, end):
        labels[t] = class_index
        audio[t, class_index * 8 : class_index * 8 + 8] += 1.5
        row, col = rng.integers(0, 6, size=2)
        visual[t, row : row + 2, col : col + 2, class_index * 16 : class_index * 16 + 16] += 3.0
    return audio, visual, labels


def write_tiny_dataset(output_dir: str, seed: int = 0, visual_dtype: str = "float16") -> str:
    rng = np.random.default_rng(seed)
    names = ave_metadata.class_names()
    with DatasetWriter(output_dir, shard_bytes=4 << 20) as writer:
        for split, count in SPLIT_SIZES.items():
            for i in range(count):
                if split == "train_noisy":
                    c, start, end = schema.BACKGROUND_CLASS, 0, 0
                else:
                    c = i % NUM_USED_CLASSES
                    start = int(rng.integers(0, 4))
                    end = int(rng.integers(start + 2, 11))
                audio, visual, labels = make_video(rng, c if c < 28 else 0, start, end)
                record = example_codec.encode_video(
                    video_id=f"{split}_{i:03d}",
                    audio=audio,
                    visual=visual,
                    labels=labels,
                    class_index=c,
                    class_name=names[c],
                    event_start=start,
                    event_end=end,
                    source="test",
                    visual_dtype=visual_dtype,
                )
                writer.write(split, record, len(labels))
        writer.commit(
            DatasetInfo(
                name="tiny",
                source="test",
                synthetic=True,
                description="tiny planted test dataset",
                class_names=list(names),
                splits={},
                visual_dtype=visual_dtype,
            )
        )
    return output_dir
