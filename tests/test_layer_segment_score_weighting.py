"""Tests of SegmentScoreWeighting (PSP's weak-model weighting branch)."""

import keras
import numpy as np

from ave_tf.layers.segment_score_weighting import SegmentScoreWeighting
from tests.layer_checks import run_layer_checks


def test_layer_checks(tmp_path):
    run_layer_checks(
        tmp_path,
        SegmentScoreWeighting,
        {},
        input_shapes=[(None, 7)],
        expected_output_shapes=lambda b, t: ((b, t, 7), (b, t)),
    )


def test_weights_are_sigmoid_of_relu_of_a_projection():
    keras.utils.set_random_seed(1)
    scores = np.random.default_rng(1).normal(size=(2, 4, 7)).astype("float32")
    layer = SegmentScoreWeighting()
    weighted, weights = (np.asarray(x) for x in layer(scores))
    u = keras.ops.convert_to_numpy(layer.gate.kernel)[:, 0]
    want = 1 / (1 + np.exp(-np.maximum(scores @ u, 0)))
    np.testing.assert_allclose(weights, want, rtol=1e-5)
    np.testing.assert_allclose(weighted, scores * want[..., None], rtol=1e-5)
    assert np.all(weights >= 0.5)
