"""Tests of CoGuidedSpatialChannelAttention (CACE-Net's co-guided attention)."""

import keras
import numpy as np

from ave_tf.layers.audio_guided_spatial_channel_attention import (
    AudioGuidedSpatialChannelAttention,
)
from ave_tf.layers.co_guided_spatial_channel_attention import CoGuidedSpatialChannelAttention
from tests.layer_checks import numpy_dense, run_layer_checks


def test_layer_checks(tmp_path):
    run_layer_checks(
        tmp_path,
        CoGuidedSpatialChannelAttention,
        {"hidden_units": 6, "beta": 0.4, "psai": 0.5},
        input_shapes=[(None, 5), (None, 2, 3, 8)],
        expected_output_shapes=lambda b, t: ((b, t, 8), (b, t, 5), (b, t, 6)),
    )


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _norm(layer, z):
    gamma, beta = (np.asarray(w) for w in layer.weights)
    return (z - z.mean(-1, keepdims=True)) / np.sqrt(z.var(-1, keepdims=True) + 1e-5) * gamma + beta


def test_visual_side_is_agsca_and_audio_side_matches_by_hand():
    keras.utils.set_random_seed(4)
    rng = np.random.default_rng(4)
    audio = rng.normal(size=(2, 3, 5)).astype("float32")
    visual = rng.normal(size=(2, 3, 2, 2, 8)).astype("float32")
    layer = CoGuidedSpatialChannelAttention(hidden_units=4, beta=0.5, psai=0.3)
    features, audio_out, attention = (np.asarray(o) for o in layer(audio, visual))
    agsca = AudioGuidedSpatialChannelAttention(hidden_units=4, beta=0.5)
    agsca(audio, visual)
    for mine, theirs in zip(agsca.weights, layer.weights[: len(agsca.weights)], strict=True):
        mine.assign(theirs)
    want_features, want_attention = (np.asarray(o) for o in agsca(audio, visual))
    np.testing.assert_allclose(features, want_features, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(attention, want_attention, rtol=1e-5, atol=1e-6)

    d = lambda name, x: numpy_dense(getattr(layer, name), x)  # noqa: E731
    x = visual.reshape(2, 3, 4, 8).astype("float64")
    a = audio.astype("float64")
    energy = np.einsum("btnd,btmd->btnm", d("cell_query_2", x), d("cell_key_2", x))
    y2 = _norm(
        layer.cell_norm, x + np.einsum("btnm,btmc->btnc", _softmax(energy), d("cell_value_2", x))
    )
    self_energy = np.einsum("btd,bsd->bts", d("audio_query", a), d("audio_key", a))
    b = _norm(
        layer.audio_norm, a + np.einsum("bts,bsd->btd", _softmax(self_energy), d("audio_value", a))
    )
    guide_energy = np.einsum("btd,bsd->bts", d("guide_query", y2.mean(2)), d("guide_key", b))
    g = np.einsum("bts,bsd->btd", _softmax(guide_energy), d("guide_value", b))
    want = a + 0.3 / (1 + np.exp(-g)) * a
    np.testing.assert_allclose(audio_out, want, rtol=1e-4, atol=1e-5)


def test_padding_does_not_change_the_real_segments():
    rng = np.random.default_rng(0)
    layer = CoGuidedSpatialChannelAttention(hidden_units=4)
    audio = rng.normal(size=(1, 7, 5)).astype("float32")
    visual = rng.normal(size=(1, 7, 2, 2, 8)).astype("float32")
    alone = [np.asarray(o) for o in layer(audio[:, :4], visual[:, :4])]
    mask = np.array([[1, 1, 1, 1, 0, 0, 0]], "float32")
    padded = [np.asarray(o)[:, :4] for o in layer(audio, visual, segment_mask=mask)]
    for got, want in zip(padded, alone, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
