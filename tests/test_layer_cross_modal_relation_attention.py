"""Tests of CrossModalRelationAttention (CMRAN/CMBS cross-modal relation attention)."""

import numpy as np
import pytest

from ave_tf.layers.cross_modal_relation_attention import CrossModalRelationAttention
from tests.layer_checks import run_layer_checks


def test_layer_checks(tmp_path):
    run_layer_checks(
        tmp_path,
        CrossModalRelationAttention,
        {"units": 8, "num_heads": 2, "feedforward_units": 12},
        input_shapes=[(None, 6), (None, 8)],
        expected_output_shapes=lambda b, t: (b, t, 8),
    )


def test_padding_does_not_change_the_real_segments():
    rng = np.random.default_rng(1)
    layer = CrossModalRelationAttention(8, num_heads=2, feedforward_units=12)
    query = rng.normal(size=(1, 3, 6)).astype("float32")
    memory = rng.normal(size=(1, 3, 8)).astype("float32")
    alone = np.asarray(layer(query, memory))
    pad = lambda x: np.concatenate([x, np.ones((1, 2, x.shape[-1]), "float32")], axis=1)  # noqa: E731
    mask = np.array([[1, 1, 1, 0, 0]], "float32")
    got = np.asarray(layer(pad(query), pad(memory), segment_mask=mask))[:, :3]
    np.testing.assert_allclose(got, alone, rtol=1e-5, atol=1e-5)


def test_memory_must_have_the_units_width():
    with pytest.raises(ValueError, match="memory width"):
        CrossModalRelationAttention(8, num_heads=2)(
            np.ones((1, 2, 6), "float32"), np.ones((1, 2, 4), "float32")
        )
