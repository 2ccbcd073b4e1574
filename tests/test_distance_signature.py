"""The cross-modal serving functions of a real AVDLN for any batch size and T.

Keras' TimeDistributed, traced with an unknown batch and T, once returned [B, B, 512] for the
pooled visual features, so `distance` failed unless the batch was 1 or T; these cases pin it.
"""

import numpy as np
import pytest

from ave_tf.evaluation import cross_modal_search
from ave_tf.export.serving_module import AveServingModule
from ave_tf.models.cross_modal import CrossModalConfig, build_cross_modal_model
from tests.export_fixtures import build_localization_fixture


@pytest.fixture(scope="module")
def module():
    cross_modal = build_cross_modal_model(CrossModalConfig(hidden_size=8, embedding_dim=4))
    names = [f"class{i}" for i in range(29)]
    return cross_modal, AveServingModule(
        build_localization_fixture(), cross_modal_model=cross_modal, class_names=names
    )


@pytest.mark.parametrize("time", [4, 10])
@pytest.mark.parametrize("batch_of", [lambda t: 1, lambda t: 3, lambda t: t, lambda t: t + 1])
def test_distance_and_localization_for_any_batch_and_time(module, time, batch_of):
    cross_modal, serving = module
    batch = batch_of(time)
    rng = np.random.default_rng(batch * 100 + time)
    audio = rng.normal(size=(batch, time, 128)).astype(np.float32)
    visual = rng.normal(size=(batch, time, 7, 7, 512)).astype(np.float32)
    out = serving.distance(audio, visual)
    assert out["distances"].shape == (batch, time)
    assert out["pairwise_distances"].shape == (batch, time, time)
    expected = cross_modal({"audio": audio, "visual": visual})
    np.testing.assert_allclose(out["distances"], expected["distances"], rtol=1e-5, atol=1e-6)
    diagonal = np.diagonal(out["pairwise_distances"], axis1=1, axis2=2)
    np.testing.assert_allclose(diagonal, out["distances"], rtol=1e-5, atol=1e-6)

    # A2V: the query is audio segments [s, s + 2); the answer is the best visual window.
    start = np.minimum(np.arange(batch), time - 2).astype(np.int64)
    length = np.full([batch], 2, np.int64)
    found = serving.localize_a2v(audio, visual, start, length)
    pairwise = cross_modal_search.pairwise_distances(
        expected["audio_embedding"], expected["visual_embedding"]
    )
    expected_start = cross_modal_search.localize_window(pairwise, start, length, "a2v")
    np.testing.assert_array_equal(found["start"], np.asarray(expected_start))
    np.testing.assert_array_equal(found["end"], np.asarray(expected_start) + 2)
    assert found["start"].shape == (batch,)
