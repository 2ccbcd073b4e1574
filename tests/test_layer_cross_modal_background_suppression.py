"""Tests of CrossModalBackgroundSuppression (CMBS's temporal background suppression gates)."""

import numpy as np
import pytest

from ave_tf.layers.cross_modal_background_suppression import CrossModalBackgroundSuppression
from tests.layer_checks import numpy_dense, run_layer_checks


@pytest.mark.parametrize("combine, residual", [("product", "add"), ("mean", "interpolate")])
def test_layer_checks(tmp_path, combine, residual):
    run_layer_checks(
        tmp_path,
        CrossModalBackgroundSuppression,
        {"alpha": 0.3, "combine": combine, "residual": residual},
        input_shapes=[(None, 6), (None, 6), (None, 4), (None, 5)],
        expected_output_shapes=lambda b, t: ((b, t, 6), (b, t, 6), (b, t)),
    )


@pytest.mark.parametrize("combine, residual", [("product", "add"), ("mean", "interpolate")])
def test_matches_the_equations(combine, residual):
    rng = np.random.default_rng(4)
    a, v, sa, sv = (rng.normal(size=(2, 3, 4)).astype("float32") for _ in range(4))
    layer = CrossModalBackgroundSuppression(0.2, combine=combine, residual=residual)
    got_a, got_v, got_gate = (np.asarray(o) for o in layer(a, v, sa, sv))
    ga, gv = numpy_dense(layer.audio_gate, sa), numpy_dense(layer.visual_gate, sv)
    scale = (lambda g: 1 + 0.2 * g) if residual == "add" else (lambda g: 0.8 + 0.2 * g)
    np.testing.assert_allclose(got_a, a * scale(ga), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_v, v * scale(gv), rtol=1e-5, atol=1e-6)
    gate = ga * gv if combine == "product" else (ga + gv) / 2
    np.testing.assert_allclose(got_gate, gate[..., 0], rtol=1e-5, atol=1e-6)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="combine"):
        CrossModalBackgroundSuppression(combine="sum")
    with pytest.raises(ValueError, match="residual"):
        CrossModalBackgroundSuppression(residual="mul")
