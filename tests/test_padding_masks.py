"""Padded segments change nothing for the real ones: models, temporal layers, MIL pooling.

A video of T=7 segments runs alone and inside batches padded the parser's way (zeros in both
modalities) to T=10 and T=13 next to a longer and a shorter video; its outputs on its real
segments and its video logits must not change. The models derive the mask from their two
inputs (`SegmentMask`). No TensorFlow here: `make test-jax` runs this file too; the training
losses and the cross-modal window search are in `test_padding_masks_training.py`.
"""

import keras
import numpy as np
import pytest

from ave_tf.layers import EncoderDecoderTCN, MILPooling
from ave_tf.models.cross_modal import CrossModalConfig, build_cross_modal_model
from ave_tf.models.localization import build_localization_model
from tests.model_configs import tiny_config

LENGTH = 7
PADDED_LENGTHS = (10, 13)
ATOL = 1e-5
SPATIAL_AUDIO = (3, 2, 16)

CONFIGS = {
    "A+V-att late DMRN LSTM": tiny_config(attention=True, fusion="dmrn"),
    "A+V-att late DMRN BiLSTM": tiny_config(attention=True, fusion="dmrn", temporal="bilstm"),
    "V ED-TCN": tiny_config(modality="visual", temporal="ed_tcn", tcn_filters=(8, 8, 8)),
    "A+V-att early GMU ED-TCN": tiny_config(
        attention=True, fusion="gmu", fusion_stage="early", temporal="ed_tcn"
    ),
    "A BiLSTM": tiny_config(modality="audio", temporal="bilstm"),
    "A+V decision gated bilinear BiLSTM": tiny_config(
        fusion="gated_bilinear", fusion_stage="decision", temporal="bilstm"
    ),
    "W-A+V-att MIL mean": tiny_config(task="weak", attention=True, fusion="dmrn"),
    "W-A+V MIL max": tiny_config(task="weak", mil_pooling="max"),
    "W-A+V-att DMRFE BiLSTM": tiny_config(
        task="weak", attention=True, fusion="dmrfe", temporal="bilstm"
    ),
    "A'+V-co-att BiLSTM": tiny_config(
        attention=True, audio_attention=True, spatial_audio_shape=SPATIAL_AUDIO, temporal="bilstm"
    ),
}
# Outputs with one value per video; the others have one per segment (compared on real ones).
PER_VIDEO = ("video_logits",)


def _video(steps, seed, audio_shape=(128,)):
    rng = np.random.default_rng(seed)
    return {
        "audio": rng.uniform(size=(steps, *audio_shape)).astype("float32"),
        "visual": rng.uniform(size=(steps, 7, 7, 512)).astype("float32"),
    }


def _batch(videos, steps):
    """Stacks videos padded with zeros to `steps` segments, as `parser.parse_batch` does."""
    return {
        key: np.stack(
            [
                np.pad(v[key], [(0, steps - len(v[key]))] + [(0, 0)] * (v[key].ndim - 1))
                for v in videos
            ]
        )
        for key in videos[0]
    }


def randomize_weights(model, seed=0):
    """Random weights, biases included: a fresh LSTM (zero biases) keeps a zero state on zero
    padding and would hide a backward direction that runs over it."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        weight.assign(rng.normal(scale=0.3, size=weight.shape).astype(weight.dtype))
    return model


def _numpy(outputs):
    return {key: keras.ops.convert_to_numpy(value) for key, value in outputs.items()}


def _assert_video_unchanged(alone, padded, row, context):
    for name, want in alone.items():
        got = padded[name][row] if name in PER_VIDEO else padded[name][row, : want.shape[1]]
        np.testing.assert_allclose(got, want[0], atol=ATOL, rtol=0, err_msg=f"{context}: {name}")


def _check_padding_invariance(model, audio_shape=(128,)):
    video = _video(LENGTH, seed=1, audio_shape=audio_shape)
    alone = _numpy(model(_batch([video], LENGTH)))
    for steps in PADDED_LENGTHS:
        others = [_video(steps, seed=2, audio_shape=audio_shape), _video(4, 3, audio_shape)]
        padded = _numpy(model(_batch([video, *others], steps)))
        _assert_video_unchanged(alone, padded, 0, f"padded to T={steps}")
        # The longer video is unaffected by the shorter ones too.
        longest = _numpy(model(_batch([others[0]], steps)))
        _assert_video_unchanged(longest, padded, 1, f"T={steps} video next to shorter ones")


@pytest.mark.parametrize("name", CONFIGS)
def test_localization_outputs_ignore_padding(name):
    config = CONFIGS[name]
    keras.utils.set_random_seed(0)
    model = randomize_weights(build_localization_model(config))
    _check_padding_invariance(model, config.spatial_audio_shape or (128,))


@pytest.mark.parametrize("method", ["avdln", "dcca"])
def test_cross_modal_distances_ignore_padding(method):
    keras.utils.set_random_seed(0)
    model = randomize_weights(
        build_cross_modal_model(CrossModalConfig(method=method, hidden_size=16))
    )
    _check_padding_invariance(model)
    outputs = _numpy(model(_batch([_video(LENGTH, 1), _video(10, 2)], 10)))
    np.testing.assert_array_equal(outputs["segment_mask"][0], [1] * LENGTH + [0] * 3)
    np.testing.assert_array_equal(outputs["segment_mask"][1], [1] * 10)


def _garbage_padded(sequence, steps, rng):
    """`sequence` [1, T, C] followed by random values: a mask, not zeros, must hide them."""
    extra = rng.normal(size=(1, steps - sequence.shape[1], sequence.shape[2])).astype("float32")
    mask = np.arange(steps)[None] < sequence.shape[1]
    return np.concatenate([sequence, 10 * extra], axis=1), mask.astype("float32")


@pytest.mark.parametrize(
    "layer_fn",
    [
        lambda: keras.layers.LSTM(6, return_sequences=True),
        lambda: keras.layers.Bidirectional(keras.layers.LSTM(6, return_sequences=True)),
        lambda: EncoderDecoderTCN((5, 7), kernel_size=3),
        lambda: EncoderDecoderTCN((5, 7, 4), kernel_size=5),
    ],
    ids=["lstm", "bilstm", "ed_tcn", "ed_tcn_3_stages"],
)
def test_temporal_layers_skip_right_padding(layer_fn):
    """Keras' LSTM (the backward one too) and the ED-TCN with a mask: padding is never read."""
    keras.utils.set_random_seed(0)
    layer = layer_fn()
    rng = np.random.default_rng(4)
    sequence = rng.normal(size=(1, LENGTH, 12)).astype("float32")
    layer(sequence)
    randomize_weights(layer)
    alone = keras.ops.convert_to_numpy(layer(sequence))
    for steps in (LENGTH + 1, *PADDED_LENGTHS):
        padded, mask = _garbage_padded(sequence, steps, rng)
        got = keras.ops.convert_to_numpy(layer(padded, mask=mask))
        np.testing.assert_allclose(got[:, :LENGTH], alone, atol=ATOL, err_msg=f"T={steps}")


def test_ed_tcn_zeroes_padded_outputs():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(5)
    padded, mask = _garbage_padded(rng.normal(size=(1, LENGTH, 12)).astype("float32"), 13, rng)
    got = keras.ops.convert_to_numpy(EncoderDecoderTCN((5, 7), kernel_size=3)(padded, mask=mask))
    np.testing.assert_array_equal(got[:, LENGTH:], 0.0)


@pytest.mark.parametrize("mode", ["mean", "max"])
def test_mil_pooling_with_mask_equals_the_unpadded_video(mode):
    rng = np.random.default_rng(6)
    logits = rng.normal(size=(1, LENGTH, 5)).astype("float32")
    alone = keras.ops.convert_to_numpy(MILPooling(mode)(logits))
    for steps in PADDED_LENGTHS:
        padded, mask = _garbage_padded(logits, steps, rng)
        got = keras.ops.convert_to_numpy(MILPooling(mode)(padded, segment_mask=mask))
        np.testing.assert_allclose(got, alone, atol=ATOL, rtol=0, err_msg=f"T={steps}")
