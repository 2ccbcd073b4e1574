"""Tests of MILPooling (eq. 7)."""

import numpy as np
import pytest

from ave_tf.layers import MILPooling
from tests.layer_checks import run_layer_checks


@pytest.mark.parametrize("mode", ["mean", "max"])
def test_layer_checks(tmp_path, mode):
    run_layer_checks(
        tmp_path,
        MILPooling,
        {"mode": mode},
        input_shapes=[(None, 29)],
        expected_output_shapes=lambda b, t: (b, 29),
    )


def test_mean_is_equation_7_and_max_is_elementwise():
    logits = np.random.default_rng(16).normal(size=(2, 10, 29)).astype("float32")
    np.testing.assert_allclose(np.asarray(MILPooling()(logits)), logits.mean(1), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(MILPooling("max")(logits)), logits.max(1))


def test_mask_excludes_padded_segments():
    logits = np.random.default_rng(17).normal(size=(2, 5, 3)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], "float32")
    logits[0, 3:] = 100.0  # padding that must not count
    mean = np.asarray(MILPooling()(logits, segment_mask=mask))
    np.testing.assert_allclose(mean[0], logits[0, :3].mean(0), rtol=1e-6)
    np.testing.assert_allclose(mean[1], logits[1].mean(0), rtol=1e-6)
    maximum = np.asarray(MILPooling("max")(logits, segment_mask=mask))
    np.testing.assert_array_equal(maximum[0], logits[0, :3].max(0))


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="mode"):
        MILPooling("median")
