"""Tests of SegmentCosineSimilarity (PSP's audio-visual pair similarity)."""

import numpy as np

from ave_tf.layers.segment_cosine_similarity import SegmentCosineSimilarity
from tests.layer_checks import run_layer_checks


def test_layer_checks(tmp_path):
    run_layer_checks(
        tmp_path,
        SegmentCosineSimilarity,
        {},
        input_shapes=[(None, 5), (None, 5)],
        expected_output_shapes=lambda b, t: (b, t),
    )


def test_is_the_cosine_and_zero_for_zero_vectors():
    rng = np.random.default_rng(0)
    v, a = rng.normal(size=(2, 3, 5)), rng.normal(size=(2, 3, 5))
    v[0, 0] = 0.0
    got = np.asarray(SegmentCosineSimilarity()(v.astype("float32"), a.astype("float32")))
    want = (v * a).sum(-1) / np.maximum(np.linalg.norm(v, axis=-1), 1e-12)
    want = want / np.linalg.norm(a, axis=-1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert got[0, 0] == 0.0 and got.dtype == np.float32
