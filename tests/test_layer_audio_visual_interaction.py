"""Tests of AudioVisualInteraction (CMBS's AVInter / VAInter)."""

import numpy as np
import pytest

from ave_tf.layers.audio_visual_interaction import AudioVisualInteraction
from tests.layer_checks import run_layer_checks


def test_layer_checks(tmp_path):
    run_layer_checks(
        tmp_path,
        AudioVisualInteraction,
        {"num_heads": 2},
        input_shapes=[(None, 8), (None, 8)],
        expected_output_shapes=lambda b, t: (b, t, 8),
    )


def test_padding_does_not_change_the_real_segments():
    rng = np.random.default_rng(2)
    layer = AudioVisualInteraction(num_heads=2)
    x, y = (rng.normal(size=(1, 3, 8)).astype("float32") for _ in range(2))
    alone = np.asarray(layer(x, y))
    pad = lambda a: np.concatenate([a, np.ones((1, 2, 8), "float32")], axis=1)  # noqa: E731
    mask = np.array([[1, 1, 1, 0, 0]], "float32")
    got = np.asarray(layer(pad(x), pad(y), segment_mask=mask))[:, :3]
    np.testing.assert_allclose(got, alone, rtol=1e-5, atol=1e-5)


def test_widths_must_agree():
    with pytest.raises(ValueError, match="widths differ"):
        AudioVisualInteraction(num_heads=2)(
            np.ones((1, 2, 8), "float32"), np.ones((1, 2, 4), "float32")
        )
