"""Tests of AudioVisualCoAttention (supplementary section 3.2)."""

import keras
import numpy as np

from ave_tf.layers import AudioVisualCoAttention
from tests.layer_checks import run_layer_checks


def test_layer_checks(tmp_path):
    run_layer_checks(
        tmp_path,
        AudioVisualCoAttention,
        {"projection_dim": 8, "hidden_dim": 4},
        input_shapes=[(None, 3, 2, 6), (None, 2, 2, 5)],
        expected_output_shapes=lambda b, t: ((b, t, 6), (b, t, 5), (b, t, 6), (b, t, 4)),
    )


def test_each_modality_is_guided_by_the_average_of_the_other():
    keras.utils.set_random_seed(4)
    rng = np.random.default_rng(4)
    audio = rng.normal(size=(2, 3, 3, 2, 6)).astype("float32")
    visual = rng.normal(size=(2, 3, 2, 2, 5)).astype("float32")
    layer = AudioVisualCoAttention(projection_dim=8, hidden_dim=4)
    attended_audio, attended_visual, audio_map, visual_map = layer(audio, visual)
    want_visual, want_visual_map = layer.visual_attention(audio.mean(axis=(2, 3)), visual)
    want_audio, want_audio_map = layer.audio_attention(audio, visual.mean(axis=(2, 3)))
    for got, want in (
        (attended_audio, want_audio),
        (attended_visual, want_visual),
        (audio_map, want_audio_map),
        (visual_map, want_visual_map),
    ):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, atol=1e-6)
