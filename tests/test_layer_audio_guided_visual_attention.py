"""Tests of AudioGuidedVisualAttention (eqs. 2-4)."""

import keras
import numpy as np
import pytest

from ave_tf.layers import AudioGuidedVisualAttention
from ave_tf.layers._guided_spatial_attention import _tall_narrow_matmul
from tests.layer_checks import run_layer_checks, value_and_gradients


@pytest.mark.parametrize("guide_axis", ["hidden", "cells"])
def test_layer_checks(tmp_path, guide_axis):
    run_layer_checks(
        tmp_path,
        AudioGuidedVisualAttention,
        {"projection_dim": 16, "hidden_dim": 9, "guide_axis": guide_axis},
        input_shapes=[(None, 12), (None, 3, 3, 8)],
        expected_output_shapes=lambda b, t: ((b, t, 8), (b, t, 9)),
    )


def _numpy_reference(layer, audio, visual, guide_axis="hidden"):
    """Eqs. 2-4 written out in numpy with the layer's weights (or the authors' broadcast)."""
    u_v_kernel, u_v_bias = (np.asarray(w) for w in layer.cell_projection.weights)
    u_a_kernel, u_a_bias = (np.asarray(w) for w in layer.guide_projection.weights)
    w_v = np.asarray(layer.cell_hidden.kernel)
    w_a = np.asarray(layer.guide_hidden.kernel)
    w_f = np.asarray(layer.score.kernel)
    batch, time, height, width, channels = visual.shape
    cells = visual.reshape(batch, time, height * width, channels)
    u_v = np.maximum(cells @ u_v_kernel + u_v_bias, 0.0)
    u_a = np.maximum(audio @ u_a_kernel + u_a_bias, 0.0)
    guide = (u_a @ w_a)[:, :, None, :] if guide_axis == "hidden" else (u_a @ w_a)[..., None]
    x = (np.tanh(u_v @ w_v + guide) @ w_f)[..., 0]
    weights = np.exp(x - x.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return np.einsum("btk,btkc->btc", weights, cells), weights


def test_matches_numpy_reference_and_sums_to_one():
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    audio = rng.normal(size=(2, 4, 6)).astype("float32")
    visual = rng.normal(size=(2, 4, 2, 3, 5)).astype("float32")
    layer = AudioGuidedVisualAttention(projection_dim=7, hidden_dim=6)
    attended, weights = (np.asarray(x) for x in layer(audio, visual))
    want_attended, want_weights = _numpy_reference(layer, audio, visual)
    np.testing.assert_allclose(weights, want_weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(attended, want_attended, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-6)
    assert weights.dtype == np.float32


def test_cells_guide_axis_adds_the_audio_term_per_cell_as_the_authors_code():
    keras.utils.set_random_seed(2)
    rng = np.random.default_rng(2)
    audio = rng.normal(size=(2, 3, 6)).astype("float32")
    visual = rng.normal(size=(2, 3, 2, 3, 5)).astype("float32")
    layer = AudioGuidedVisualAttention(projection_dim=7, hidden_dim=6, guide_axis="cells")
    attended, weights = (np.asarray(x) for x in layer(audio, visual))
    want_attended, want_weights = _numpy_reference(layer, audio, visual, "cells")
    np.testing.assert_allclose(weights, want_weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(attended, want_attended, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="hidden_dim == the 6 cells"):
        AudioGuidedVisualAttention(projection_dim=7, hidden_dim=4, guide_axis="cells")(
            audio, visual
        )


def test_audio_changes_the_map_and_full_size_runs():
    """The map depends on the audio; the paper's sizes (7x7x512, d=512, k=49) run."""
    keras.utils.set_random_seed(2)
    rng = np.random.default_rng(2)
    visual = rng.uniform(size=(1, 2, 7, 7, 512)).astype("float32")
    layer = AudioGuidedVisualAttention()
    _, first = layer(rng.uniform(size=(1, 2, 128)).astype("float32"), visual)
    attended, second = layer(rng.uniform(size=(1, 2, 128)).astype("float32"), visual)
    assert attended.shape == (1, 2, 512) and second.shape == (1, 2, 49)
    assert not np.allclose(np.asarray(first), np.asarray(second))


def test_kernel_gradient_of_the_fast_matmul_matches_autodiff():
    """The custom gradient of `_tall_narrow_matmul` equals the backend's autodiff of a matmul."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(37, 16)).astype("float32")
    kernel = rng.normal(size=(16, 5)).astype("float32")
    upstream = rng.normal(size=(37, 5)).astype("float32")
    fast, fast_grads = value_and_gradients(
        lambda a, b: keras.ops.sum(_tall_narrow_matmul(a, b) * upstream), [x, kernel]
    )
    plain, plain_grads = value_and_gradients(
        lambda a, b: keras.ops.sum(keras.ops.matmul(a, b) * upstream), [x, kernel]
    )
    np.testing.assert_allclose(fast, plain, rtol=1e-6)
    for fast_grad, plain_grad in zip(fast_grads, plain_grads, strict=True):
        np.testing.assert_allclose(fast_grad, plain_grad, rtol=1e-5, atol=1e-5)
