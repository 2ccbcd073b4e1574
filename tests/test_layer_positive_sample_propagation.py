"""Tests of PositiveSamplePropagation (PSP, Zhou et al. CVPR 2021)."""

import keras
import numpy as np
import pytest

from ave_tf.layers.positive_sample_propagation import PositiveSamplePropagation
from tests.layer_checks import numpy_dense, run_layer_checks


# Threshold 0 in the shared checks: pruning is a discontinuous decision, so under mixed_bfloat16
# a relevance near the threshold flips and the outputs jump (seen under JAX); the pruning itself
# is checked in float32 against the equations below.
@pytest.mark.parametrize(
    "init_kwargs",
    [
        {"units": 6, "output_units": 5, "threshold": 0.0},
        {"units": 6, "threshold": 0.0, "renormalize": False},
    ],
)
def test_layer_checks(tmp_path, init_kwargs):
    width = init_kwargs.get("output_units") or init_kwargs["units"]
    run_layer_checks(
        tmp_path,
        PositiveSamplePropagation,
        init_kwargs,
        input_shapes=[(None, 6), (None, 6)],
        expected_output_shapes=lambda b, t: ((b, t, width),) * 3,
    )


def _numpy_psp(layer, audio, visual, mask=None):
    relu = lambda x: np.maximum(x, 0.0)  # noqa: E731
    v_r = numpy_dense(layer.visual_relevance, visual)
    a_r = numpy_dense(layer.audio_relevance, audio)
    v_m, a_m = numpy_dense(layer.visual_message, visual), numpy_dense(layer.audio_message, audio)
    v_r, a_r, v_m, a_m = relu(v_r), relu(a_r), relu(v_m), relu(a_m)
    beta = relu(v_r @ np.swapaxes(a_r, 1, 2) / np.sqrt(layer.units))
    if mask is not None:
        beta = beta * mask[:, :, None] * mask[:, None, :]

    def prune(b):
        b = b / (b.sum(-1, keepdims=True) + 1e-8)
        g = np.where(b > layer.threshold, b, 0.0)
        return g / (g.sum(-1, keepdims=True) + 1e-8) if layer.renormalize else g

    v = visual + prune(beta) @ a_m
    a = audio + prune(np.swapaxes(beta, 1, 2)) @ v_m
    if layer.output_units:
        v, a = relu(numpy_dense(layer.visual_output, v)), relu(numpy_dense(layer.audio_output, a))

    def norm(x):
        gamma = keras.ops.convert_to_numpy(layer.layer_norm.gamma)
        beta_ = keras.ops.convert_to_numpy(layer.layer_norm.beta)
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + layer.epsilon) * gamma + beta_

    v, a = norm(v), norm(a)
    return (v + a) / 2, v, a


@pytest.mark.parametrize("renormalize, output_units", [(True, 4), (False, None)])
def test_matches_the_equations_by_hand(renormalize, output_units):
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    audio, visual = rng.normal(size=(2, 7, 4)), rng.normal(size=(2, 7, 4))
    layer = PositiveSamplePropagation(
        4, threshold=0.12, output_units=output_units, renormalize=renormalize
    )
    got = layer(audio.astype("float32"), visual.astype("float32"))
    for g, w in zip(got, _numpy_psp(layer, audio, visual), strict=True):
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-4, atol=1e-5)


def test_pruning_keeps_only_entries_above_the_threshold():
    keras.utils.set_random_seed(4)
    rng = np.random.default_rng(4)
    audio, visual = rng.normal(size=(1, 10, 8)), rng.normal(size=(1, 10, 8))
    audio, visual = audio.astype("float32"), visual.astype("float32")
    layer = PositiveSamplePropagation(8, threshold=0.099)
    layer(audio, visual)
    gamma_va, gamma_av, _, _ = layer.relevance(audio, visual)
    for gamma in (np.asarray(gamma_va), np.asarray(gamma_av)):
        sums = gamma.sum(-1)
        assert np.all((np.abs(sums - 1) < 1e-5) | (sums == 0))  # renormalized rows
        assert np.all((gamma == 0) | (gamma > 0.099))


def test_padding_does_not_change_real_segments():
    keras.utils.set_random_seed(5)
    rng = np.random.default_rng(5)
    audio, visual = rng.normal(size=(1, 6, 4)), rng.normal(size=(1, 6, 4))
    layer = PositiveSamplePropagation(4, threshold=0.1, output_units=4)
    short = layer(audio[:, :4].astype("float32"), visual[:, :4].astype("float32"))
    mask = np.array([[1, 1, 1, 1, 0, 0]], "float32")
    padded = layer(audio.astype("float32"), visual.astype("float32"), segment_mask=mask)
    for s, p in zip(short, padded, strict=True):
        np.testing.assert_allclose(np.asarray(p)[:, :4], np.asarray(s), rtol=1e-5, atol=1e-6)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="dropout"):
        PositiveSamplePropagation(4, dropout=1.0)
    with pytest.raises(ValueError, match="of width units=4"):
        PositiveSamplePropagation(4)(np.ones((1, 2, 3), "float32"), np.ones((1, 2, 4), "float32"))
