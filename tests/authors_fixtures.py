"""Deterministic inputs and weights shared by the authors' equivalence fixtures and tests.

numpy only: `benchmarks/make_authors_fixtures.py` imports it in a venv with PyTorch (no
TensorFlow) to fill the authors' modules, and the tests import it to fill ours. Weights are
drawn from a seeded generator, one array per state-dict key in the order the fixture lists, so
a fixture stores keys, shapes and outputs (a few KB) instead of ~5 MB of weights.
"""

import numpy as np

BATCH, SEGMENTS, CLASSES = 2, 10, 29


def seeded_inputs(seed: int) -> dict:
    """ReLU'd Gaussian features like VGGish/VGG-19 outputs, and one-hot segment/video labels."""
    rng = np.random.default_rng(seed)
    audio = np.maximum(rng.normal(0.3, 1.0, (BATCH, SEGMENTS, 128)), 0).astype(np.float32)
    visual = np.maximum(rng.normal(0.0, 1.0, (BATCH, SEGMENTS, 7, 7, 512)), 0).astype(np.float32)
    labels = rng.integers(0, CLASSES, (BATCH, SEGMENTS))
    video_labels = rng.integers(0, CLASSES, (BATCH,))
    return {"audio": audio, "visual": visual, "labels": labels, "video_labels": video_labels}


def seeded_weights(keys, shapes, seed: int, scale: float = 0.1) -> dict:
    """{key: float32 array} uniform in [-scale, scale], drawn in the order of `keys`."""
    rng = np.random.default_rng(seed + 1)
    return {
        key: rng.uniform(-scale, scale, tuple(shape)).astype(np.float32)
        for key, shape in zip(keys, shapes, strict=True)
    }
