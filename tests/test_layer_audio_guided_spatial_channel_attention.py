"""Tests of AudioGuidedSpatialChannelAttention (CMBS's AGSCA)."""

import keras
import numpy as np
import pytest

from ave_tf.layers.audio_guided_spatial_channel_attention import (
    AudioGuidedSpatialChannelAttention,
)
from tests.layer_checks import numpy_dense, run_layer_checks


def test_layer_checks(tmp_path):
    run_layer_checks(
        tmp_path,
        AudioGuidedSpatialChannelAttention,
        {"hidden_units": 6, "beta": 0.4},
        input_shapes=[(None, 5), (None, 2, 3, 8)],
        expected_output_shapes=lambda b, t: ((b, t, 8), (b, t, 6)),
    )


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_matches_the_steps_by_hand():
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    audio = rng.normal(size=(2, 3, 5)).astype("float32")
    visual = rng.normal(size=(2, 3, 2, 2, 8)).astype("float32")
    layer = AudioGuidedSpatialChannelAttention(hidden_units=4, beta=0.5)
    features, attention = (np.asarray(o) for o in layer(audio, visual))
    d = lambda name, x: numpy_dense(getattr(layer, name), x)  # noqa: E731
    x = visual.reshape(2, 3, 4, 8).astype("float64")
    energy = np.einsum("btnd,btmd->btnm", d("cell_query", x), d("cell_key", x))
    z = x + np.einsum("btnm,btmc->btnc", _softmax(energy), d("cell_value", x))
    gamma, beta = (np.asarray(w) for w in layer.cell_norm.weights)
    y = (z - z.mean(-1, keepdims=True)) / np.sqrt(z.var(-1, keepdims=True) + 1e-5) * gamma + beta
    average = d("self_average", y.mean(2))[:, :, None]
    self_map = _softmax(np.tanh(d("self_score", d("self_cells", y) * average)[..., 0]))
    self_features = np.einsum("btn,btnc->btc", self_map, y)
    joint = (d("channel_audio", audio)[:, :, None] * d("channel_cells", y)).mean(2)
    x_c = x * (1 + d("channel_gate", d("channel_bottleneck", joint)))[:, :, None]
    scores = d("spatial_score", d("spatial_cells", x_c) * d("spatial_audio", audio)[:, :, None])
    spatial = _softmax(np.tanh(scores[..., 0]))
    pooled = np.einsum("btn,btnc->btc", spatial, x_c)
    want = pooled + 0.5 / (1 + np.exp(-self_features)) * pooled
    np.testing.assert_allclose(attention, spatial, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(features, want, rtol=1e-4, atol=1e-4)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="hidden_units"):
        AudioGuidedSpatialChannelAttention(hidden_units=0)
