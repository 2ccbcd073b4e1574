"""`ave_extract`'s default protocol reproduces how the public AVE features were extracted.

The authors' scripts: frames picked by index (`int(s * k + (i / fps) * k)`, k = frames // T),
each resized by `cv2.resize` (INTER_LINEAR), pool5 averaged per second; VGGish on the whole clip
(`wavfile_to_examples`: an example every 0.96 s, example k stored as segment k), raw embedding.
`--protocol=timed` (the frame on screen at s + (i + 0.5) / fps, FFmpeg's resize, the example
starting at each segment) stays available.
"""

import os

import av
import numpy as np
import pytest

from ave_tf.features import log_mel
from ave_tf.features.extraction import ExtractionConfig, FeatureExtractor
from ave_tf.features.video_decoding import (
    DecodeConfig,
    VideoDecoder,
    release_frame_indices,
    release_frame_interval,
    resize_bilinear,
)
from tests.video_fixtures import write_video

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "authors")


def test_resize_is_opencvs_inter_linear():
    with np.load(os.path.join(FIXTURES, "opencv_resize.npz")) as fixture:
        rng = np.random.default_rng(int(fixture["seed"]))
        for index, (height, width, size) in enumerate(fixture["cases"]):
            image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            np.testing.assert_array_equal(
                resize_bilinear(image, int(size)), fixture[f"resized_{index}"]
            )


def test_release_frame_indices_follow_the_authors_formula():
    # 30 fps, 10 s: interval 30, frames floor(1.875 i) of each second.
    assert release_frame_interval(300, 10.0) == 30
    first, second = release_frame_indices(30, 10, 16)[:2]
    assert first == [0, 1, 3, 5, 7, 9, 11, 13, 15, 16, 18, 20, 22, 24, 26, 28]
    assert second == [30 + i for i in first]
    # 15 fps: frames repeat. 299 frames in 9.97 s: 299 // 10 = 29 (truncated), as theirs.
    assert release_frame_indices(15, 10, 16)[0] == [int(i * 15 / 16) for i in range(16)]
    assert release_frame_interval(299, 9.97) == 29
    # Not near whole seconds: the duration itself (a partial second does not stretch segments).
    assert release_frame_interval(60, 2.5) == 24
    assert release_frame_interval(5, 10.0) == 0
    assert release_frame_indices(0, 2, 4) == [[0] * 4] * 2  # fewer frames than seconds


def _all_frames(path):
    with av.open(path) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _square_x(frame):
    columns = np.where(frame[frame.shape[0] // 2, :, 0] > 150)[0]
    return float(columns.mean())


def test_release_sampling_takes_frames_by_index_and_timed_by_time(tmp_path):
    path = write_video(str(tmp_path / "clip.mp4"), duration=3.0, fps=24, width=128, height=96)
    frames = _all_frames(path)
    release = list(VideoDecoder(path, DecodeConfig(frames_per_second=4, frame_size=64)).segments())
    assert len(release) == 3 and release[0].shape == (4, 64, 64, 3)
    for s, segment in enumerate(release):
        for i, frame in enumerate(segment):
            expected = resize_bilinear(frames[s * 24 + 6 * i], 64)  # interval 24, step 6
            np.testing.assert_array_equal(frame, expected)

    timed_config = DecodeConfig(frames_per_second=4, frame_size=64, frame_sampling="timed")
    timed = list(VideoDecoder(path, timed_config).segments())
    # Timed frames are shown 1/8 s later: the square has moved (64 - 16) * (1/8) / 3 = 2 px.
    shift = np.mean(
        [
            _square_x(t) - _square_x(r)
            for a, b in zip(timed, release, strict=True)
            for t, r in zip(a, b, strict=True)
        ]
    )
    assert shift == pytest.approx(2.0, abs=0.6)


def test_release_sampling_keeps_the_segment_rules(tmp_path):
    path = write_video(str(tmp_path / "long.webm"), duration=2.5, fps=10, width=64, height=48)
    config = DecodeConfig(frames_per_second=4, frame_size=32)
    assert len(list(VideoDecoder(path, config).segments())) == 2  # partial second dropped
    padded = DecodeConfig(frames_per_second=4, frame_size=32, pad_last=True)
    segments = list(VideoDecoder(path, padded).segments())
    assert len(segments) == 3 and segments[-1].shape == (4, 32, 32, 3)
    # 25 frames in 2.5 s: interval 10; targets 20, 22, 25, 27 of the padded second: past the
    # last frame (24) they repeat it.
    frames = _all_frames(path)
    np.testing.assert_array_equal(segments[2][1], resize_bilinear(frames[22], 32))
    np.testing.assert_array_equal(segments[2][2], segments[2][3])
    np.testing.assert_array_equal(segments[2][3], resize_bilinear(frames[-1], 32))
    assert len(list(VideoDecoder(path, config).segments(limit=1))) == 1


def test_protocols_set_the_audio_framing():
    assert ExtractionConfig().audio_framing == "release"
    assert ExtractionConfig(protocol="timed").audio_framing == "aligned"
    assert ExtractionConfig(protocol="timed", audio_framing="release").audio_framing == "release"
    assert ExtractionConfig(protocol="timed").decode_config().frame_sampling == "timed"
    assert ExtractionConfig().fingerprint()["protocol"] == "release"
    with pytest.raises(ValueError, match="protocol must be one of"):
        ExtractionConfig(protocol="paper")
    # Release framing: example k starts at 0.96 k s; aligned at k s.
    np.testing.assert_array_equal(log_mel.example_start_frames(3, "release"), [0, 96, 192])
    np.testing.assert_array_equal(log_mel.example_start_frames(3, "aligned"), [0, 100, 200])


def test_both_protocols_extract_a_generated_video(tmp_path):
    path = write_video(str(tmp_path / "clip.mp4"), duration=3.0, fps=24, width=320, height=240)
    settings = dict(random_weights=True, frames_per_second=2, frame_batch_size=6)
    release = FeatureExtractor(ExtractionConfig(**settings)).extract(path)
    timed = FeatureExtractor(ExtractionConfig(protocol="timed", **settings)).extract(path)
    assert release.audio.shape == timed.audio.shape == (3, 128)
    assert release.visual.shape == timed.visual.shape == (3, 7, 7, 512)
    # Segment 0's example starts at 0 s both ways; later ones start 0.04 s per second earlier.
    np.testing.assert_allclose(release.audio[0], timed.audio[0], rtol=1e-5, atol=1e-5)
    assert not np.allclose(release.audio[2], timed.audio[2], rtol=1e-3, atol=1e-3)
    assert not np.allclose(release.visual, timed.visual, rtol=1e-3, atol=1e-3)
