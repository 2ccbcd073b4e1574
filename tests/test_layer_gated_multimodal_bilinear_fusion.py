"""Tests of GatedMultimodalBilinearFusion."""

import keras
import numpy as np

from ave_tf.layers import GatedMultimodalBilinearFusion
from tests.layer_checks import numpy_dense, run_layer_checks


def test_layer_checks(tmp_path):
    run_layer_checks(
        tmp_path,
        GatedMultimodalBilinearFusion,
        {"units": 5, "rank": 3},
        input_shapes=[(None, 4), (None, 6)],
        expected_output_shapes=lambda b, t: (b, t, 5),
    )


def test_audio_gates_the_bilinear_interaction():
    keras.utils.set_random_seed(10)
    rng = np.random.default_rng(10)
    audio, visual = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 6))
    layer = GatedMultimodalBilinearFusion(5, rank=3)
    got = np.asarray(layer(audio.astype("float32"), visual.astype("float32")))
    bilinear = layer.bilinear
    joint = numpy_dense(bilinear.audio_factor, audio) * numpy_dense(bilinear.visual_factor, visual)
    interaction = numpy_dense(bilinear.output_projection, joint)
    want = numpy_dense(layer.audio_projection, audio) + numpy_dense(layer.gate, audio) * interaction
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
