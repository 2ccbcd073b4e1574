"""Tests of MaxPoolingFusion."""

import keras
import numpy as np

from ave_tf.layers import MaxPoolingFusion
from tests.layer_checks import numpy_dense, run_layer_checks


def test_layer_checks(tmp_path):
    run_layer_checks(
        tmp_path,
        MaxPoolingFusion,
        {"units": 5},
        input_shapes=[(None, 4), (None, 6)],
        expected_output_shapes=lambda b, t: (b, t, 5),
    )


def test_elementwise_max_of_projections():
    keras.utils.set_random_seed(7)
    rng = np.random.default_rng(7)
    audio, visual = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 6))
    layer = MaxPoolingFusion(5)
    got = np.asarray(layer(audio.astype("float32"), visual.astype("float32")))
    want = np.maximum(
        numpy_dense(layer.audio_projection, audio), numpy_dense(layer.visual_projection, visual)
    )
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
