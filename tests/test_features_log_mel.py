"""The TensorFlow VGGish front end against a numpy transcription of the original algorithm.

The reference below follows `mel_features.py` / `vggish_input.py` of the released VGGish
(tensorflow/models research/audioset/vggish) line by line, in float64.

Tolerance: the TF front end runs in float32 (STFT and mel product); its log-mel values agree
with the float64 reference to 1e-4 absolute (measured max 1.8e-5 on these signals, whose
log-mel values span about -4.6 to 5; log(mel + 0.01) bounds the error of near-silent bins).
"""

import numpy as np
import pytest
import tensorflow as tf

from ave_tf.features import log_mel

ATOL = 1e-4


# --- numpy reference (the original VGGish code) ------------------------------------------------
def _frame(data, window_length, hop_length):
    num_samples = data.shape[0]
    num_frames = 1 + int(np.floor((num_samples - window_length) / hop_length))
    shape = (num_frames, window_length) + data.shape[1:]
    strides = (data.strides[0] * hop_length,) + data.strides
    return np.lib.stride_tricks.as_strided(data, shape=shape, strides=strides)


def _periodic_hann(window_length):
    return 0.5 - (0.5 * np.cos(2 * np.pi / window_length * np.arange(window_length)))


def _stft_magnitude(signal, fft_length, hop_length, window_length):
    frames = _frame(signal, window_length, hop_length)
    return np.abs(np.fft.rfft(frames * _periodic_hann(window_length), int(fft_length)))


def _hertz_to_mel(frequencies_hertz):
    return 1127.0 * np.log(1.0 + (frequencies_hertz / 700.0))


def _spectrogram_to_mel_matrix(
    num_mel_bins, num_spectrogram_bins, audio_sample_rate, lower_edge_hertz, upper_edge_hertz
):
    nyquist_hertz = audio_sample_rate / 2.0
    spectrogram_bins_hertz = np.linspace(0.0, nyquist_hertz, num_spectrogram_bins)
    spectrogram_bins_mel = _hertz_to_mel(spectrogram_bins_hertz)
    band_edges_mel = np.linspace(
        _hertz_to_mel(lower_edge_hertz), _hertz_to_mel(upper_edge_hertz), num_mel_bins + 2
    )
    mel_weights_matrix = np.empty((num_spectrogram_bins, num_mel_bins))
    for i in range(num_mel_bins):
        lower_edge_mel, center_mel, upper_edge_mel = band_edges_mel[i : i + 3]
        lower_slope = (spectrogram_bins_mel - lower_edge_mel) / (center_mel - lower_edge_mel)
        upper_slope = (upper_edge_mel - spectrogram_bins_mel) / (upper_edge_mel - center_mel)
        mel_weights_matrix[:, i] = np.maximum(0.0, np.minimum(lower_slope, upper_slope))
    mel_weights_matrix[0, :] = 0.0
    return mel_weights_matrix


def reference_log_mel(data, sample_rate=16000):
    window_length_samples = int(round(sample_rate * 0.025))
    hop_length_samples = int(round(sample_rate * 0.010))
    fft_length = 2 ** int(np.ceil(np.log(window_length_samples) / np.log(2.0)))
    spectrogram = _stft_magnitude(
        data, fft_length, hop_length=hop_length_samples, window_length=window_length_samples
    )
    mel = np.dot(
        spectrogram,
        _spectrogram_to_mel_matrix(64, spectrogram.shape[1], sample_rate, 125.0, 7500.0),
    )
    return np.log(mel + 0.01)


def reference_examples(data):
    """vggish_input.waveform_to_examples for 16 kHz mono input: [N, 96, 64]."""
    return _frame(reference_log_mel(data), window_length=96, hop_length=96)


# --- tests -------------------------------------------------------------------------------------
def _test_signal(seconds: float, seed: int = 0) -> np.ndarray:
    """Chirp + two tones + noise + a silent stretch, in [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    chirp = np.sin(2 * np.pi * (100 + 3000 * t / seconds) * t)
    tones = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 6000 * t)
    signal = 0.4 * chirp + tones + 0.05 * rng.standard_normal(t.shape)
    signal[len(t) // 3 : len(t) // 3 + 3000] = 0.0
    return np.clip(signal / np.abs(signal).max(), -1, 1)


def test_mel_matrix_matches_reference():
    ours = log_mel.mel_weight_matrix().numpy()
    reference = _spectrogram_to_mel_matrix(64, 257, 16000, 125.0, 7500.0)
    assert ours.shape == (257, 64)
    np.testing.assert_array_equal(ours[0], 0.0)
    np.testing.assert_allclose(ours, reference, atol=1e-5)


@pytest.mark.parametrize("seconds", [1.0, 3.37])
def test_log_mel_matches_reference(seconds):
    signal = _test_signal(seconds)
    ours = log_mel.log_mel_spectrogram(signal.astype(np.float32)).numpy()
    reference = reference_log_mel(signal)
    assert ours.shape == reference.shape
    np.testing.assert_allclose(ours, reference, atol=ATOL)


def test_release_framing_equals_vggish_examples():
    signal = _test_signal(10.0, seed=1)
    reference = reference_examples(signal)
    assert reference.shape == (10, 96, 64)  # VGGish gives 10 examples for a 10-s clip
    ours = log_mel.segment_examples(signal.astype(np.float32), 10, framing="release").numpy()
    np.testing.assert_allclose(ours, reference, atol=ATOL)


def test_aligned_framing_starts_each_example_at_its_segment():
    signal = _test_signal(4.0, seed=2)
    full = reference_log_mel(signal)
    ours = log_mel.segment_examples(signal.astype(np.float32), 4, framing="aligned").numpy()
    assert ours.shape == (4, 96, 64)
    for s in range(4):
        np.testing.assert_allclose(ours[s], full[100 * s : 100 * s + 96], atol=ATOL)


def test_short_waveform_is_zero_padded_to_whole_segments():
    signal = _test_signal(2.0)[: 2 * 16000 - 300]  # 19 ms short of 2 s
    padded = np.concatenate([signal, np.zeros(300)])
    ours = log_mel.segment_examples(signal.astype(np.float32), 2).numpy()
    expected = log_mel.segment_examples(padded.astype(np.float32), 2).numpy()
    np.testing.assert_array_equal(ours, expected)


def test_silence_gives_log_offset():
    examples = log_mel.segment_examples(np.zeros(16000, np.float32), 1).numpy()
    np.testing.assert_allclose(examples, np.log(0.01), rtol=1e-6)


def test_bad_framing_and_segment_count():
    with pytest.raises(ValueError, match="framing"):
        log_mel.segment_examples(np.zeros(16000, np.float32), 1, framing="centered")
    with pytest.raises(ValueError, match="num_segments"):
        log_mel.segment_examples(tf.zeros([16000]), 0)
