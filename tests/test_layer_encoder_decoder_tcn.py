"""Tests of EncoderDecoderTCN (the ED-TCN baseline of Lea et al.)."""

import keras
import numpy as np
import pytest

from ave_tf.layers import EncoderDecoderTCN
from tests.layer_checks import run_layer_checks


def test_layer_checks(tmp_path):
    run_layer_checks(
        tmp_path,
        EncoderDecoderTCN,
        {"filters": (6, 8), "kernel_size": 3, "dropout": 0.1},
        input_shapes=[(None, 5)],
        expected_output_shapes=lambda b, t: (b, t, 6),
        time_steps=(1, 2, 3, 10, 13),
    )


def test_any_length_one_model():
    keras.utils.set_random_seed(18)
    layer = EncoderDecoderTCN((4, 5, 6), kernel_size=5)
    for steps in range(1, 12):
        out = np.asarray(layer(np.random.default_rng(steps).normal(size=(1, steps, 3))))
        assert out.shape == (1, steps, 4)
        # Normalized ReLU: non-negative, at most 1 per segment.
        assert out.min() >= 0 and out.max() <= 1.0 + 1e-6


def test_empty_filters_are_rejected():
    with pytest.raises(ValueError, match="filters"):
        EncoderDecoderTCN(())
