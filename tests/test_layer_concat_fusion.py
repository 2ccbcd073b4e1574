"""Tests of ConcatFusion."""

import numpy as np

from ave_tf.layers import ConcatFusion
from tests.layer_checks import run_layer_checks


def test_layer_checks(tmp_path):
    run_layer_checks(
        tmp_path,
        ConcatFusion,
        {},
        input_shapes=[(None, 4), (None, 6)],
        expected_output_shapes=lambda b, t: (b, t, 10),
    )


def test_audio_comes_first():
    audio, visual = np.ones((1, 2, 3), "float32"), np.zeros((1, 2, 2), "float32")
    fused = np.asarray(ConcatFusion()(audio, visual))
    np.testing.assert_array_equal(fused, np.concatenate([audio, visual], -1))
