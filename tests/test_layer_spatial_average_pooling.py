"""Tests of SpatialAveragePooling (the V / A+V models' global average pooling)."""

import numpy as np

from ave_tf.layers import SpatialAveragePooling
from tests.layer_checks import run_layer_checks


def test_layer_checks(tmp_path):
    run_layer_checks(
        tmp_path,
        SpatialAveragePooling,
        {},
        input_shapes=[(None, 3, 2, 5)],
        expected_output_shapes=lambda b, t: ((b, t, 5), (b, t, 6)),
    )


def test_average_and_uniform_weights():
    visual = np.random.default_rng(5).normal(size=(2, 4, 7, 7, 3)).astype("float32")
    pooled, weights = SpatialAveragePooling()(visual)
    np.testing.assert_allclose(np.asarray(pooled), visual.mean(axis=(2, 3)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(weights), np.full((2, 4, 49), 1 / 49), rtol=1e-6)
    assert np.asarray(weights).dtype == np.float32
