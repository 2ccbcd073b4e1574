"""VGGish's log-mel front end in TensorFlow ops, and the mapping of 1-s segments to examples.

The algorithm is the one of the released VGGish (`mel_features.py`, `vggish_input.py`):
16 kHz mono -> STFT magnitude (25 ms periodic-Hann window, 10 ms hop, 512-point FFT) -> 64 mel
bands over 125-7500 Hz on the HTK mel scale (1127 ln(1 + f / 700)), the DC bin zeroed ->
log(mel + 0.01) -> examples of 96 frames x 64 bands (0.96 s). `tests/test_features_log_mel.py`
checks this against a numpy transcription of the original code.

From 1-s segments to 0.96-s examples (`framing`):
  - "aligned": segment s uses the 96 log-mel frames starting at frame 100 * s, i.e. audio
    [s, s + 0.975) s: every example starts with its segment, for videos of any length
    (`ave_extract --protocol=timed`, `ave_localize`'s default).
  - "release": example k starts at frame 96 * k, as VGGish frames a whole clip. The authors'
    `audio_feature_extractor.py` ran `vggish_input.wavfile_to_examples` on each whole 10-s clip
    (asserting 10 examples) and stored example k as segment k, so the public features drift
    40 ms per segment: the 10th example starts at 8.64 s (`ave_extract`'s default protocol).
"""

import numpy as np
import tensorflow as tf

SAMPLE_RATE = 16000
WINDOW_SAMPLES = 400  # 25 ms
HOP_SAMPLES = 160  # 10 ms
FFT_LENGTH = 512  # the next power of two above the window
NUM_MEL_BANDS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.01
EXAMPLE_FRAMES = 96  # 0.96 s of 10-ms frames
FRAMES_PER_SEGMENT = SAMPLE_RATE // HOP_SAMPLES  # 100 frames per 1-s segment
FRAMINGS = ("aligned", "release")


def mel_weight_matrix() -> tf.Tensor:
    """[257, 64] float32 weights from STFT bins to mel bands (HTK scale, DC bin zeroed)."""
    weights = tf.signal.linear_to_mel_weight_matrix(
        num_mel_bins=NUM_MEL_BANDS,
        num_spectrogram_bins=FFT_LENGTH // 2 + 1,
        sample_rate=SAMPLE_RATE,
        lower_edge_hertz=MEL_MIN_HZ,
        upper_edge_hertz=MEL_MAX_HZ,
        dtype=tf.float64,
    )
    # VGGish zeroes the DC row explicitly; TensorFlow already leaves it at 0 (kept for clarity).
    weights = tf.concat([tf.zeros([1, NUM_MEL_BANDS], tf.float64), weights[1:]], axis=0)
    return tf.cast(weights, tf.float32)


def log_mel_spectrogram(waveform: tf.Tensor) -> tf.Tensor:
    """[samples] float 16 kHz waveform in [-1, 1] -> [frames, 64] log-mel spectrogram.

    frames = 1 + (samples - 400) // 160, as in VGGish (no padding at the end).
    """
    waveform = tf.convert_to_tensor(waveform, tf.float32)
    stft = tf.signal.stft(
        waveform,
        frame_length=WINDOW_SAMPLES,
        frame_step=HOP_SAMPLES,
        fft_length=FFT_LENGTH,
        window_fn=tf.signal.hann_window,  # periodic Hann, as mel_features.periodic_hann
        pad_end=False,
    )
    mel = tf.matmul(tf.abs(stft), mel_weight_matrix())
    return tf.math.log(mel + LOG_OFFSET)


def example_start_frames(num_segments: int, framing: str = "aligned") -> np.ndarray:
    """First log-mel frame of the example used for each segment."""
    if framing not in FRAMINGS:
        raise ValueError(f"framing must be one of {FRAMINGS}, got {framing!r}")
    step = FRAMES_PER_SEGMENT if framing == "aligned" else EXAMPLE_FRAMES
    return np.arange(num_segments) * step


def segment_examples(
    waveform: np.ndarray | tf.Tensor, num_segments: int, framing: str = "aligned"
) -> tf.Tensor:
    """[samples] 16 kHz waveform -> [num_segments, 96, 64] VGGish input examples.

    The waveform is cut or zero-padded to num_segments seconds first, so a track a few ms short
    of its last second still gives a full example.
    """
    if num_segments < 1:
        raise ValueError(f"num_segments must be >= 1, got {num_segments}")
    starts = example_start_frames(num_segments, framing)
    waveform = tf.convert_to_tensor(waveform, tf.float32)[: num_segments * SAMPLE_RATE]
    waveform = tf.pad(waveform, [[0, num_segments * SAMPLE_RATE - tf.shape(waveform)[0]]])
    log_mel = log_mel_spectrogram(waveform)
    indices = starts[:, None] + np.arange(EXAMPLE_FRAMES)[None, :]
    return tf.gather(log_mel, indices)
