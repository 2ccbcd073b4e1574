"""Tests of TemporalRelationEncoder (CMRAN/CMBS internal temporal relation module)."""

import numpy as np
import pytest

from ave_tf.layers.temporal_relation_encoder import TemporalRelationEncoder
from tests.layer_checks import run_layer_checks


def test_layer_checks(tmp_path):
    run_layer_checks(
        tmp_path,
        TemporalRelationEncoder,
        {"units": 8, "num_heads": 2, "feedforward_units": 12},
        input_shapes=[(None, 6)],
        expected_output_shapes=lambda b, t: (b, t, 8),
    )


def test_padding_does_not_change_the_real_segments():
    rng = np.random.default_rng(0)
    layer = TemporalRelationEncoder(8, num_heads=2, feedforward_units=12)
    x = rng.normal(size=(1, 4, 6)).astype("float32")
    alone = np.asarray(layer(x))
    padded = np.concatenate([x, rng.normal(size=(1, 3, 6)).astype("float32")], axis=1)
    mask = np.array([[1, 1, 1, 1, 0, 0, 0]], "float32")
    np.testing.assert_allclose(
        np.asarray(layer(padded, segment_mask=mask))[:, :4], alone, rtol=1e-5, atol=1e-5
    )


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="multiple of num_heads"):
        TemporalRelationEncoder(6, num_heads=4)(np.ones((1, 2, 3), "float32"))
