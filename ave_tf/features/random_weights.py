"""Reproducible random weights for the feature networks (`--random_weights`: tests, smoke runs).

Weights are drawn with numpy from a seed, He-normal (std sqrt(2 / fan_in)) so activations keep
their scale through the ReLU stacks, biases zero. Same cost per frame as real weights.
"""

import keras
import numpy as np


def assign_random_weights(model: keras.Model, seed: int = 0) -> keras.Model:
    """Overwrites every kernel of `model` with He-normal values from `seed`; biases become 0."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        arrays = layer.get_weights()
        if not arrays:
            continue
        kernel, rest = arrays[0], arrays[1:]
        fan_in = int(np.prod(kernel.shape[:-1]))
        kernel = rng.standard_normal(kernel.shape, dtype=np.float32) * np.float32(
            np.sqrt(2.0 / fan_in)
        )
        layer.set_weights([kernel] + [np.zeros_like(a) for a in rest])
    return model
