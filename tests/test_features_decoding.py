"""Decoding generated mp4/webm/mkv videos into 1-s segments of frames and 16 kHz audio."""

import numpy as np
import pytest
from video_fixtures import write_corrupt_file, write_video

from ave_tf.features import video_decoding
from ave_tf.features.video_decoding import DecodeConfig, VideoDecoder, VideoError

# These tests check the timing rules of the timed sampling (the release sampling picks frames
# by index: tests/test_features_release_protocol.py); segment counts hold for both.
SMALL = DecodeConfig(frames_per_second=4, frame_size=32, frame_sampling="timed")


def _square_x(frame: np.ndarray) -> float:
    """Mean column of the bright square in a decoded frame."""
    columns = np.where(frame[frame.shape[0] // 2, :, 0] > 150)[0]
    return float(columns.mean())


def _dominant_hz(waveform: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(waveform[:16000]))
    return float(np.argmax(spectrum))  # 1 Hz bins for one second


@pytest.mark.parametrize("container", ["mp4", "webm", "mkv"])
def test_decodes_segments_frames_and_tone(tmp_path, container):
    path = write_video(str(tmp_path / f"clip.{container}"), duration=3.0, frequency=440.0)
    decoder = VideoDecoder(path, SMALL)
    assert decoder.audio_segments == 3
    assert decoder.waveform.dtype == np.float32
    assert 3 * 16000 <= decoder.waveform.size <= 3 * 16000 + 1600  # encoder padding < 0.1 s
    assert _dominant_hz(decoder.waveform) == pytest.approx(440, abs=2)
    rms = np.sqrt(np.mean(decoder.waveform[4000:12000] ** 2))
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.1)  # mean of two equal channels

    segments = list(decoder.segments())
    assert len(segments) == 3
    assert all(s.shape == (4, 32, 32, 3) and s.dtype == np.uint8 for s in segments)
    assert decoder.video_seconds == pytest.approx(3.0, abs=0.01)
    # The square moves right linearly: sampled at t = s + (i + 0.5) / 4.
    xs = np.array([_square_x(f) for s in segments for f in s])
    times = np.array([s + (i + 0.5) / 4 for s in range(3) for i in range(4)])
    expected = (32 - 8) * times / 3.0 + 3.5  # square of 8 px (frame 32 / 4), its centre
    np.testing.assert_allclose(xs, expected, atol=1.5)


def test_frame_sampling_picks_the_frame_on_screen(tmp_path):
    # 4 fps video sampled at 16 per second: each frame is shown for 4 consecutive targets.
    path = write_video(str(tmp_path / "slow.mp4"), duration=2.0, fps=4, width=64, height=64)
    timed = DecodeConfig(frames_per_second=16, frame_size=64, frame_sampling="timed")
    decoder = VideoDecoder(path, timed)
    frames = np.concatenate(list(decoder.segments()))
    assert frames.shape == (32, 64, 64, 3)
    xs = np.array([_square_x(f) for f in frames]).reshape(8, 4)
    np.testing.assert_allclose(xs, xs[:, :1].repeat(4, axis=1), atol=1.0)
    assert (np.diff(xs[:, 0]) > 0).all()


def test_last_partial_second_dropped_or_padded(tmp_path):
    path = write_video(str(tmp_path / "partial.webm"), duration=2.5)
    dropped = VideoDecoder(path, SMALL)
    assert dropped.audio_segments == 2
    assert len(list(dropped.segments(limit=dropped.audio_segments))) == 2

    padded_config = DecodeConfig(
        frames_per_second=4, frame_size=32, pad_last=True, frame_sampling="timed"
    )
    padded = VideoDecoder(path, padded_config)
    assert padded.audio_segments == 3
    segments = list(padded.segments(limit=padded.audio_segments))
    assert len(segments) == 3
    # Targets after the end repeat the last frame.
    np.testing.assert_array_equal(segments[2][2], segments[2][3])


def test_whole_segments_rules():
    assert video_decoding.whole_segments(10.0) == 10
    assert video_decoding.whole_segments(9.97) == 10  # within the 50 ms tolerance
    assert video_decoding.whole_segments(9.9) == 9
    assert video_decoding.whole_segments(9.9, pad_last=True) == 10
    assert video_decoding.whole_segments(9.2, pad_last=True) == 9  # < 0.25 s: dropped
    assert video_decoding.whole_segments(0.6) == 0
    assert video_decoding.whole_segments(0.6, pad_last=True) == 1


def test_shorter_than_one_second_is_an_error(tmp_path):
    path = write_video(str(tmp_path / "short.mp4"), duration=0.5)
    with pytest.raises(VideoError, match=r"short.mp4: audio track is shorter than 1 s"):
        VideoDecoder(path, SMALL)


def test_segments_are_seconds_covered_by_both_streams(tmp_path):
    path = write_video(str(tmp_path / "longer_audio.mkv"), duration=3.0, video_duration=2.0)
    decoder = VideoDecoder(path, SMALL)
    assert decoder.audio_segments == 3
    assert len(list(decoder.segments(limit=decoder.audio_segments))) == 2
    assert len(list(VideoDecoder(path, SMALL).segments(limit=1))) == 1  # `limit` stops early


def test_video_stream_shorter_than_one_second_is_an_error(tmp_path):
    path = write_video(str(tmp_path / "flash.mp4"), duration=2.0, video_duration=0.5)
    decoder = VideoDecoder(path, SMALL)
    with pytest.raises(VideoError, match=r"flash.mp4: video is shorter than 1 s \(0.50 s\)"):
        list(decoder.segments(limit=decoder.audio_segments))


@pytest.mark.parametrize(
    "kind, message",
    [
        ("no_audio", "no audio stream"),
        ("no_video", "no video stream"),
        ("corrupt", "cannot open"),
        ("missing", "no such file"),
    ],
)
def test_unusable_files_raise_video_error_naming_the_file(tmp_path, kind, message):
    path = str(tmp_path / f"{kind}.mp4")
    if kind == "no_audio":
        write_video(path, audio=False)
    elif kind == "no_video":
        write_video(path, video=False)
    elif kind == "corrupt":
        write_corrupt_file(path)
    with pytest.raises(VideoError) as error:
        VideoDecoder(path, SMALL)
    assert str(error.value).startswith(f"{path}: {message}")
    assert "\n" not in str(error.value)


def test_ffmpeg_resampler_keeps_frequency_and_length():
    rate = 44100
    t = np.arange(rate * 2) / rate
    wave = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    out = video_decoding.resample(wave, rate, "ffmpeg")
    assert out.dtype == np.float32
    assert abs(out.size - 32000) <= 64
    assert _dominant_hz(out) == pytest.approx(1000, abs=2)
    np.testing.assert_array_equal(video_decoding.resample(wave, 16000), wave)
    # "auto" is FFmpeg on every stack, tensorflow-io installed or not.
    np.testing.assert_array_equal(video_decoding.resample(wave, rate, "auto"), out)


def test_tfio_resampler_matches_ffmpeg_where_it_loads():
    from ave_tf.utils.tfio_compat import tfio_available

    if not tfio_available():
        with pytest.raises(VideoError, match="--resampler=ffmpeg"):
            video_decoding.resample(np.zeros(4410, np.float32), 44100, "tfio")
        pytest.skip("tensorflow-io's ops do not load here; the ffmpeg resampler is used")
    rate = 48000
    t = np.arange(rate) / rate
    wave = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    ours = video_decoding.resample(wave, rate, "tfio")
    reference = video_decoding.resample(wave, rate, "ffmpeg")
    assert ours.size == reference.size == 16000
    # tensorflow-io does not compensate its filter delay (32 samples = 2 ms here).
    errors = [
        np.abs(ours[1000:15000] - np.roll(reference, lag)[1000:15000]).max() for lag in range(64)
    ]
    assert min(errors) < 1e-3


def test_bad_config():
    with pytest.raises(ValueError, match="frames_per_second"):
        DecodeConfig(frames_per_second=0)
    with pytest.raises(ValueError, match="resampler"):
        DecodeConfig(resampler="sox")
    with pytest.raises(ValueError, match="frame_sampling must be one of"):
        DecodeConfig(frame_sampling="cv2")
