"""Tests of DualMultimodalResidualFusionEnsemble (DMRFE)."""

import keras
import numpy as np

from ave_tf.layers import DualMultimodalResidualFusionEnsemble
from tests.layer_checks import run_layer_checks


def test_layer_checks(tmp_path):
    run_layer_checks(
        tmp_path,
        DualMultimodalResidualFusionEnsemble,
        {"num_classes": 7, "units": 5},
        input_shapes=[(None, 4), (None, 5)],
        expected_output_shapes=lambda b, t: (b, t, 7),
    )


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_softmax_of_output_is_the_average_of_the_branch_probabilities():
    keras.utils.set_random_seed(15)
    rng = np.random.default_rng(15)
    audio = rng.normal(size=(2, 3, 5)).astype("float32")
    visual = rng.normal(size=(2, 3, 5)).astype("float32")
    layer = DualMultimodalResidualFusionEnsemble(num_classes=6)
    log_probs = np.asarray(layer(audio, visual))
    first, second = (np.asarray(x) for x in layer.branch_logits(audio, visual))
    assert not np.allclose(first, second), "the two branches must have their own weights"
    want = (_softmax(first) + _softmax(second)) / 2
    np.testing.assert_allclose(np.exp(log_probs), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_softmax(log_probs), want, rtol=1e-5, atol=1e-6)
    assert log_probs.dtype == np.float32


def test_output_is_float32_under_mixed_precision():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        layer = DualMultimodalResidualFusionEnsemble(num_classes=3)
    finally:
        keras.config.set_dtype_policy(previous)
    out = layer(np.ones((1, 2, 4), "float32"), np.ones((1, 2, 4), "float32"))
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
