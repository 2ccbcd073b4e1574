"""Tests of DualMultimodalResidualFusion (DMRN, eqs. 5-6)."""

import keras
import numpy as np
import pytest

from ave_tf.layers import DualMultimodalResidualFusion
from tests.layer_checks import numpy_dense, run_layer_checks


@pytest.mark.parametrize(
    "init_kwargs, audio_width",
    [
        ({"units": None, "blocks": 1}, 6),
        ({"units": 6, "blocks": 2}, 4),
        ({"units": None, "blocks": 1, "update_layers": 2}, 6),
    ],
)
def test_layer_checks(tmp_path, init_kwargs, audio_width):
    run_layer_checks(
        tmp_path,
        DualMultimodalResidualFusion,
        init_kwargs,
        input_shapes=[(None, audio_width), (None, 6)],
        expected_output_shapes=lambda b, t: (b, t, 6),
    )


def _additive(block, audio, visual):
    return numpy_dense(block.audio_projection, audio) + numpy_dense(block.visual_projection, visual)


def test_matches_equations_5_and_6_by_hand():
    keras.utils.set_random_seed(13)
    rng = np.random.default_rng(13)
    audio, visual = rng.normal(size=(2, 3, 6)), rng.normal(size=(2, 3, 6))
    layer = DualMultimodalResidualFusion(blocks=2)
    got = np.asarray(layer(audio.astype("float32"), visual.astype("float32")))
    a, v = audio, visual
    for block in layer.residual_blocks:
        f = _additive(block, a, v)
        a, v = np.tanh(a + f), np.tanh(v + f)  # eq. 5, eq. 6
    np.testing.assert_allclose(got, (a + v) / 2, rtol=1e-5, atol=1e-5)
    assert layer.audio_input is None and layer.visual_input is None


def test_two_layer_update_is_the_mean_of_two_tanh_mlps():
    """update_layers=2: f = (U_a(a) + U_v(v)) / 2 with U = Dense -> tanh -> Dense (authors)."""
    keras.utils.set_random_seed(15)
    rng = np.random.default_rng(15)
    audio, visual = rng.normal(size=(2, 3, 6)), rng.normal(size=(2, 3, 6))
    layer = DualMultimodalResidualFusion(update_layers=2)
    got = np.asarray(layer(audio.astype("float32"), visual.astype("float32")))
    block = layer.residual_blocks[0]

    def mlp(modality, x):
        hidden = np.tanh(numpy_dense(block[f"{modality}_hidden"], x))
        return numpy_dense(block[f"{modality}_output"], hidden)

    f = 0.5 * (mlp("audio", audio) + mlp("visual", visual))
    want = 0.5 * (np.tanh(audio + f) + np.tanh(visual + f))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="update_layers must be 1 or 2"):
        DualMultimodalResidualFusion(update_layers=3)


def test_projects_inputs_of_other_widths():
    keras.utils.set_random_seed(14)
    rng = np.random.default_rng(14)
    audio, visual = rng.normal(size=(1, 2, 3)), rng.normal(size=(1, 2, 7))
    layer = DualMultimodalResidualFusion(units=4)
    got = np.asarray(layer(audio.astype("float32"), visual.astype("float32")))
    a, v = numpy_dense(layer.audio_input, audio), numpy_dense(layer.visual_input, visual)
    f = _additive(layer.residual_blocks[0], a, v)
    np.testing.assert_allclose(got, (np.tanh(a + f) + np.tanh(v + f)) / 2, rtol=1e-5, atol=1e-5)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="blocks"):
        DualMultimodalResidualFusion(blocks=0)
    with pytest.raises(ValueError, match="units"):
        DualMultimodalResidualFusion()(np.ones((1, 2, 3), "float32"), np.ones((1, 2, 4), "float32"))
