"""The order in which writers put a split's videos into its shards: a seeded permutation.

Sources list videos grouped by class (the AVE release's Annotations.txt is sorted by class), so
writing them in source order gives shards of two or three classes each, and any streaming
reader with a bounded shuffle buffer then sees batches of a handful of classes. Every writer
(`ave_convert`, `ave_synth`, `ave_extract`, the Beam pipeline) therefore writes each split in a
seeded random order, the same for the same seed and split whatever else is written, and records
how in dataset.json (`extra.write_order`, see `provenance`).
"""

import zlib
from collections.abc import Sequence

import numpy as np

# Separates this stream from every other use of the same seed (generators, subsets).
_WRITE_ORDER_STREAM = 0x0DE5
METHOD = "numpy.random.default_rng([seed, 0x0DE5, crc32(split)]).permutation(videos)"


def permutation(num_videos: int, split: str, seed: int) -> np.ndarray:
    """Positions of a split's videos in the order they are written (a permutation of range(n))."""
    if num_videos < 0:
        raise ValueError(f"num_videos must be >= 0, got {num_videos}")
    if seed < 0:
        raise ValueError(f"the write-order seed must be >= 0, got {seed}")
    rng = np.random.default_rng([seed, _WRITE_ORDER_STREAM, zlib.crc32(split.encode("utf-8"))])
    return rng.permutation(num_videos)


def shuffled(items: Sequence, split: str, seed: int) -> list:
    """`items` in the order a writer puts them into `split`'s shards."""
    return [items[i] for i in permutation(len(items), split, seed)]


def provenance(seed: int, source_order: str) -> dict:
    """What dataset.json records under `extra.write_order`.

    Args:
      seed: the seed of the permutation.
      source_order: how the videos were ordered before the permutation (e.g. "rows of
        Annotations.txt listed by train_order.h5").
    """
    return {"shuffled": True, "seed": int(seed), "method": METHOD, "source_order": source_order}
