"""Tests of MultimodalBilinearFusion."""

import keras
import numpy as np

from ave_tf.layers import MultimodalBilinearFusion
from tests.layer_checks import numpy_dense, run_layer_checks


def test_layer_checks(tmp_path):
    run_layer_checks(
        tmp_path,
        MultimodalBilinearFusion,
        {"units": 5, "rank": 7},
        input_shapes=[(None, 4), (None, 6)],
        expected_output_shapes=lambda b, t: (b, t, 5),
    )


def test_low_rank_bilinear_form():
    keras.utils.set_random_seed(9)
    rng = np.random.default_rng(9)
    audio, visual = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 6))
    layer = MultimodalBilinearFusion(5, rank=3)
    got = np.asarray(layer(audio.astype("float32"), visual.astype("float32")))
    joint = numpy_dense(layer.audio_factor, audio) * numpy_dense(layer.visual_factor, visual)
    np.testing.assert_allclose(
        got, numpy_dense(layer.output_projection, joint), rtol=1e-5, atol=1e-5
    )
    assert layer.audio_factor.kernel.shape == (4, 3)


def test_rank_defaults_to_units():
    layer = MultimodalBilinearFusion(5)
    layer(np.ones((1, 2, 4), "float32"), np.ones((1, 2, 6), "float32"))
    assert layer.visual_factor.kernel.shape == (6, 5)
