"""Tests of GatedMultimodalUnit."""

import keras
import numpy as np

from ave_tf.layers import GatedMultimodalUnit
from tests.layer_checks import numpy_dense, run_layer_checks


def test_layer_checks(tmp_path):
    run_layer_checks(
        tmp_path,
        GatedMultimodalUnit,
        {"units": 5},
        input_shapes=[(None, 4), (None, 6)],
        expected_output_shapes=lambda b, t: (b, t, 5),
    )


def test_convex_combination_of_the_two_modalities():
    keras.utils.set_random_seed(11)
    rng = np.random.default_rng(11)
    audio, visual = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 6))
    layer = GatedMultimodalUnit(5)
    got = np.asarray(layer(audio.astype("float32"), visual.astype("float32")))
    z = numpy_dense(layer.gate, np.concatenate([audio, visual], -1))
    h_a = numpy_dense(layer.audio_transform, audio)
    h_v = numpy_dense(layer.visual_transform, visual)
    np.testing.assert_allclose(got, z * h_a + (1 - z) * h_v, rtol=1e-5, atol=1e-5)
    assert np.all(np.abs(got) <= 1.0)
