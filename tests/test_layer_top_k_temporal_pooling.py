"""Tests of TopKTemporalPooling (CMBS's top-4 temporal mean of class activations)."""

import numpy as np
import pytest

from ave_tf.layers.top_k_temporal_pooling import TopKTemporalPooling
from tests.layer_checks import run_layer_checks


def test_layer_checks(tmp_path):
    run_layer_checks(
        tmp_path,
        TopKTemporalPooling,
        {"k": 4},
        input_shapes=[(None, 5)],
        expected_output_shapes=lambda b, t: (b, 5),
    )


def test_mean_of_the_k_largest_real_segments():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 7, 3)).astype("float32")
    want = -np.sort(-x, axis=1)[:, :4].mean(1)
    np.testing.assert_allclose(np.asarray(TopKTemporalPooling(4)(x)), want, rtol=1e-6)
    mask = np.array([[1] * 7, [1, 1, 0, 0, 0, 0, 0]], "float32")
    got = np.asarray(TopKTemporalPooling(4)(x, segment_mask=mask))
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
    np.testing.assert_allclose(got[1], x[1, :2].mean(0), rtol=1e-6)  # fewer than k: all real
    short = x[:, :2]
    np.testing.assert_allclose(np.asarray(TopKTemporalPooling(4)(short)), short.mean(1), rtol=1e-6)


def test_k_must_be_positive():
    with pytest.raises(ValueError, match="k must be"):
        TopKTemporalPooling(0)
