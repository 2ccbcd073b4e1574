"""Which annotation rows the synthetic dataset generates, per split (numpy only, no TensorFlow:
the JAX benchmark generates data with it on machines without TensorFlow)."""

import zlib

import numpy as np

from ave_tf.data import ave_metadata, schema, write_order
from ave_tf.data.synthetic_config import NOISY_VIDEOS, SyntheticConfig

_SELECT_STREAM = 3


def select_rows(order: np.ndarray, split: str, fraction: float, seed: int) -> np.ndarray:
    """A class-stratified subset of a split's annotation rows (at least one per class).

    The subset is drawn with its own seeded stream and keeps the split's order.
    """
    order = np.asarray(order)
    if fraction >= 1.0:
        return order
    annotations = ave_metadata.read_annotations()
    classes = np.array([ave_metadata.class_index(annotations[row].category) for row in order])
    rng = np.random.default_rng([seed, _SELECT_STREAM, zlib.crc32(split.encode())])
    keep = []
    for c in np.unique(classes):
        positions = np.flatnonzero(classes == c)
        count = max(1, int(round(fraction * len(positions))))
        keep.extend(rng.choice(positions, size=count, replace=False).tolist())
    return order[np.sort(keep)]


def noisy_count(fraction: float) -> int:
    return NOISY_VIDEOS if fraction >= 1.0 else max(1, int(round(fraction * NOISY_VIDEOS)))


def split_plan(config: SyntheticConfig) -> dict[str, list[int]]:
    """Per split, the annotation rows to generate (`train_noisy`: background video indices),
    in the order they are written: a seeded permutation (`write_order`), since the release's
    splits list videos grouped by class."""
    fraction = config.effective_fraction
    plan = {}
    for match in (False, True):
        for split, order in ave_metadata.default_split_orders(match=match).items():
            plan[split] = select_rows(order, split, fraction, config.seed).tolist()
    plan[schema.NOISY_SPLIT] = list(range(noisy_count(fraction)))
    return {
        split: write_order.shuffled(plan[split], split, config.seed) for split in schema.ALL_SPLITS
    }
