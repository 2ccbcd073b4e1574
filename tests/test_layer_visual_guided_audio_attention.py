"""Tests of VisualGuidedAudioAttention (supplementary section 3.2)."""

import keras
import numpy as np

from ave_tf.layers import AudioGuidedVisualAttention, VisualGuidedAudioAttention
from tests.layer_checks import run_layer_checks


def test_layer_checks(tmp_path):
    run_layer_checks(
        tmp_path,
        VisualGuidedAudioAttention,
        {"projection_dim": 16, "hidden_dim": 5},
        input_shapes=[(None, 3, 2, 6), (None, 10)],
        expected_output_shapes=lambda b, t: ((b, t, 6), (b, t, 6)),
    )


def test_is_the_audio_guided_attention_with_roles_swapped():
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    spatial_audio = rng.normal(size=(2, 3, 3, 2, 6)).astype("float32")
    visual_vector = rng.normal(size=(2, 3, 10)).astype("float32")
    audio_attention = VisualGuidedAudioAttention(projection_dim=8, hidden_dim=4)
    got = audio_attention(spatial_audio, visual_vector)
    mirror = AudioGuidedVisualAttention(projection_dim=8, hidden_dim=4)
    mirror.build(visual_vector.shape, spatial_audio.shape)
    mirror.set_weights(audio_attention.get_weights())
    want = mirror(visual_vector, spatial_audio)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(got[1]).sum(-1), 1.0, rtol=1e-6)
