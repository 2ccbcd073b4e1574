"""Decodes a video file into 1-s segments: sampled RGB frames and a 16 kHz mono waveform.

FFmpeg does the work through PyAV (`av`), so every container and codec of PyAV's FFmpeg build
is readable (mp4, webm, mkv, avi, mov, ...). Decoding is streamed: frames are converted only
when sampled, and `VideoDecoder.segments()` yields one segment at a time, so memory does not
grow with the length of the video (the waveform, ~64 kB per second, is held whole).

Which frames a segment gets (`DecodeConfig.frame_sampling`):
  - "release" (default): as the authors' `visual_feature_extractor.py` chose the frames of the
    public AVE features. With N frames in a D-second video stream, the frame interval is
    k = floor(N / D) (D rounded when within the tolerance below: N / 10 for AVE's clips) and
    frame i of segment s is frame number int(s * k + (i / fps) * k) of the stream (counted from
    0, by index, not by time): for a 30-fps 10-s video, frames 0, 1, 3, 5, ... of each second,
    the first one at the start of the second; frames past the end repeat the last one. Each
    chosen frame is converted to RGB at its own size and resized to 224 x 224 as their
    `cv2.resize` does it (bilinear on half-pixel centres, no antialiasing, OpenCV's fixed-point
    arithmetic).
  - "timed": frame i of segment s is the frame on screen at s + (i + 0.5) / fps (the middle of
    the i-th 1/fps of the second, robust to variable frame rates and start offsets), resized by
    FFmpeg's bilinear scaler (which filters when it shrinks).

Timing rules (the AVE convention: segment s covers seconds [s, s + 1) of the video):
  - Time 0 is the earlier of the two streams' start times; the waveform is shifted onto it.
  - A video has as many segments as whole seconds covered by both streams. Durations within
    `DURATION_TOLERANCE_S` of a whole second count as that second (the missing few ms of audio
    are zero-padded, the missing frames repeat the last one).
  - The last partial second is dropped (AVE videos are exactly 10 s), unless `pad_last` is
    set: then a remainder of at least `MIN_PARTIAL_SECONDS` becomes one more segment, its audio
    zero-padded and its frames repeating the last frame.
  - Fewer than one segment is a `VideoError` (a video shorter than 1 s).
"""

import dataclasses
import math
import os
from collections.abc import Iterator

import av
import numpy as np

from ave_tf.utils.tfio_compat import load_tfio

SAMPLE_RATE = 16000  # VGGish's input rate
DURATION_TOLERANCE_S = 0.05
MIN_PARTIAL_SECONDS = 0.25
RESAMPLERS = ("auto", "tfio", "ffmpeg")
FRAME_SAMPLINGS = ("release", "timed")


class VideoError(ValueError):
    """A video that cannot be turned into segments (the message starts with its path)."""


@dataclasses.dataclass(frozen=True)
class DecodeConfig:
    """How videos are decoded.

    Attributes:
      frames_per_second: frames sampled uniformly in each 1-s segment (16 in the paper).
      frame_size: frames are resized to frame_size x frame_size (224 for VGG-19).
      pad_last: keep a trailing partial second as a padded segment (see the module docstring).
      resampler: "auto" or "ffmpeg" (FFmpeg's libswresample), or "tfio" (the optional
        tensorflow-io's resampler, 20-100x slower: benchmarks/resample_benchmark.py).
      frame_sampling: "release" or "timed" (see the module docstring).
    """

    frames_per_second: int = 16
    frame_size: int = 224
    pad_last: bool = False
    resampler: str = "auto"
    frame_sampling: str = "release"

    def __post_init__(self):
        if self.frames_per_second < 1:
            raise ValueError(f"frames_per_second must be >= 1, got {self.frames_per_second}")
        if self.frame_size < 1:
            raise ValueError(f"frame_size must be >= 1, got {self.frame_size}")
        if self.resampler not in RESAMPLERS:
            raise ValueError(f"resampler must be one of {RESAMPLERS}, got {self.resampler!r}")
        if self.frame_sampling not in FRAME_SAMPLINGS:
            raise ValueError(
                f"frame_sampling must be one of {FRAME_SAMPLINGS}, got {self.frame_sampling!r}"
            )


def whole_segments(seconds: float, pad_last: bool = False) -> int:
    """Number of 1-s segments in `seconds` of media under the rules of the module docstring."""
    whole = max(0, math.floor(seconds + DURATION_TOLERANCE_S))
    if pad_last and seconds - whole >= MIN_PARTIAL_SECONDS:
        whole += 1
    return whole


def _stream_start(stream) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def _open(path: str):
    try:
        return av.open(path)
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise VideoError(f"{path}: cannot open: {_reason(e)}") from None


def _reason(error: Exception) -> str:
    """The first line of an FFmpeg/OS error, without the errno and path PyAV adds."""
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return str(text).splitlines()[0][:200]


def resample_ffmpeg(waveform: np.ndarray, rate: int) -> np.ndarray:
    """Resamples a mono float waveform to 16 kHz with FFmpeg's libswresample."""
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(waveform, dtype=np.float32)[None, :], format="flt", layout="mono"
    )
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    frames = resampler.resample(frame) + resampler.resample(None)
    if not frames:
        return np.zeros([0], np.float32)
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.float32)


def resample_tfio(waveform: np.ndarray, rate: int) -> np.ndarray:
    """Resamples a mono float waveform to 16 kHz with tensorflow-io (raises if unavailable).

    tensorflow-io does not compensate its filter delay: the output lags by ~2 ms (32 samples
    from 48 kHz), negligible against 1-s segments.
    """
    tfio, reason = load_tfio()
    if tfio is None:
        raise VideoError(f"the tfio resampler is unavailable: {reason}; use --resampler=ffmpeg")
    out = tfio.audio.resample(waveform.astype(np.float32)[:, None], rate_in=rate, rate_out=16000)
    return out.numpy()[:, 0]


def resample(waveform: np.ndarray, rate: int, resampler: str = "auto") -> np.ndarray:
    """Mono waveform at `rate` -> float32 waveform at 16 kHz."""
    if rate == SAMPLE_RATE or waveform.size == 0:
        return waveform.astype(np.float32)
    if resampler == "tfio":
        return resample_tfio(waveform, rate)
    return resample_ffmpeg(waveform, rate)


class VideoDecoder:
    """One video file: its 16 kHz mono waveform and a generator of sampled frames per segment.

    Opening the decoder checks the streams and decodes the whole audio track (so the number
    of audio segments is known before any frame is decoded).

    Args:
      path: the video file.
      config: a `DecodeConfig`.

    Attributes:
      waveform: float32 [samples] at 16 kHz, mono (mean of the channels, as VGGish does),
        starting at time 0 of the video.
      audio_segments: whole segments the audio track covers.
      video_seconds: duration of the video stream; known once `segments()` is exhausted.

    Raises:
      VideoError: unreadable or corrupt file, no video or no audio stream, audio shorter than 1 s.
    """

    def __init__(self, path: str, config: DecodeConfig = DecodeConfig()):
        self.path = path
        self.config = config
        self.video_seconds: float | None = None
        if not os.path.isfile(path):
            raise VideoError(f"{path}: no such file")
        with _open(path) as container:
            if not container.streams.video:
                raise VideoError(f"{path}: no video stream")
            if not container.streams.audio:
                raise VideoError(f"{path}: no audio stream")
            video_start = _stream_start(container.streams.video[0])
            audio_start = _stream_start(container.streams.audio[0])
        self.origin = min(video_start, audio_start)
        self.waveform = self._decode_audio()
        seconds = self.waveform.size / SAMPLE_RATE
        self.audio_segments = whole_segments(seconds, config.pad_last)
        if self.audio_segments == 0:
            raise VideoError(f"{path}: audio track is shorter than 1 s ({seconds:.2f} s)")

    def _decode_audio(self) -> np.ndarray:
        chunks, rate, first_time = [], None, None
        try:
            with _open(self.path) as container:
                stream = container.streams.audio[0]
                converter = None
                for frame in container.decode(stream):
                    if converter is None:
                        rate = frame.sample_rate
                        first_time = frame.time
                        # Float planar at the first frame's rate: [channels, samples].
                        converter = av.AudioResampler(format="fltp", rate=rate)
                    for out in converter.resample(frame):
                        chunks.append(out.to_ndarray().mean(axis=0))
                if converter is not None:
                    for out in converter.resample(None):
                        chunks.append(out.to_ndarray().mean(axis=0))
        except (av.error.FFmpegError, OSError, ValueError) as e:
            raise VideoError(f"{self.path}: corrupt audio stream: {_reason(e)}") from None
        if not chunks:
            raise VideoError(f"{self.path}: the audio stream has no decodable samples")
        mono = resample(np.concatenate(chunks), rate, self.config.resampler)
        # Shift the waveform onto the common time origin of the two streams.
        offset = int(round(((first_time or 0.0) - self.origin) * SAMPLE_RATE))
        if offset > 0:
            mono = np.concatenate([np.zeros([offset], np.float32), mono])
        elif offset < 0:
            mono = mono[-offset:]
        return mono.astype(np.float32, copy=False)

    def segments(self, limit: int | None = None) -> Iterator[np.ndarray]:
        """Yields uint8 [frames_per_second, size, size, 3] RGB frames per segment, in order.

        Args:
          limit: stop after this many segments (e.g. the number of audio segments).

        Raises:
          VideoError: a corrupt video stream, or a video stream shorter than 1 s.
        """
        if self.config.frame_sampling == "release":
            return self._release_segments(limit)
        return self._timed_segments(limit)

    def _count_frames(self) -> tuple[int, float]:
        """(frames, seconds) of the video stream, from its packets (no decoding)."""
        count, end = 0, 0.0
        try:
            with _open(self.path) as container:
                stream = container.streams.video[0]
                rate = float(stream.average_rate) if stream.average_rate else 0.0
                for packet in container.demux(stream):
                    if packet.size == 0:  # the demuxer's flush packet
                        continue
                    count += 1
                    if packet.pts is not None and packet.time_base is not None:
                        stop = (packet.pts + (packet.duration or 0)) * packet.time_base
                        end = max(end, float(stop) - self.origin)
        except (av.error.FFmpegError, OSError, ValueError) as e:
            raise VideoError(f"{self.path}: corrupt video stream: {_reason(e)}") from None
        if not end and rate:
            end = count / rate
        return count, end

    def _release_segments(self, limit: int | None) -> Iterator[np.ndarray]:
        frame_count, seconds = self._count_frames()
        if frame_count == 0:
            raise VideoError(f"{self.path}: the video stream has no decodable frames")
        total = whole_segments(seconds, self.config.pad_last)
        if limit is not None:
            total = min(total, limit)
        if total == 0:
            raise VideoError(f"{self.path}: video is shorter than 1 s ({seconds:.2f} s)")
        fps, size = self.config.frames_per_second, self.config.frame_size
        indices = release_frame_indices(release_frame_interval(frame_count, seconds), total, fps)
        wanted = {i for segment in indices for i in segment}
        last_wanted = indices[-1][-1]  # indices never decrease
        picked: dict[int, np.ndarray] = {}
        last = None
        released = 0
        try:
            with _open(self.path) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                for number, frame in enumerate(container.decode(stream)):
                    if number > last_wanted:
                        break
                    last = frame
                    if number in wanted:
                        picked[number] = resize_bilinear(frame.to_ndarray(format="rgb24"), size)
                    while released < total and indices[released][-1] <= number:
                        yield np.stack([picked[i] for i in indices[released]])
                        released += 1
        except (av.error.FFmpegError, OSError, ValueError) as e:
            raise VideoError(f"{self.path}: corrupt video stream: {_reason(e)}") from None
        if last is None:
            raise VideoError(f"{self.path}: the video stream has no decodable frames")
        self.video_seconds = seconds
        # Fewer decodable frames than packets: later targets show the last decoded frame.
        fill = resize_bilinear(last.to_ndarray(format="rgb24"), size)
        for segment in indices[released:]:
            yield np.stack([picked.get(i, fill) for i in segment])

    def _timed_segments(self, limit: int | None) -> Iterator[np.ndarray]:
        fps = self.config.frames_per_second
        sampler = _FrameSampler(fps, self.config.frame_size)
        released = 0
        last_time, frame_duration = 0.0, 0.0
        try:
            with _open(self.path) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                rate = float(stream.average_rate) if stream.average_rate else 0.0
                for count, frame in enumerate(container.decode(stream)):
                    if frame.time is not None:
                        time = frame.time - self.origin
                    else:
                        time = count / rate if rate else 0.0
                    sampler.advance_to(frame, time)
                    # A frame starting at `time` proves the video covers [0, time).
                    while released < len(sampler.done) and released + 1 <= (
                        time + DURATION_TOLERANCE_S
                    ):
                        yield sampler.done[released]
                        sampler.done[released] = None  # free the frames once consumed
                        released += 1
                        if limit is not None and released >= limit:
                            return
                    frame_duration = 1.0 / rate if rate else max(time - last_time, 0.0)
                    last_time = time
        except (av.error.FFmpegError, OSError, ValueError) as e:
            raise VideoError(f"{self.path}: corrupt video stream: {_reason(e)}") from None
        if sampler.held is None:
            raise VideoError(f"{self.path}: the video stream has no decodable frames")
        self.video_seconds = last_time + frame_duration
        total = whole_segments(self.video_seconds, self.config.pad_last)
        if limit is not None:
            total = min(total, limit)
        if total == 0:
            raise VideoError(f"{self.path}: video is shorter than 1 s ({self.video_seconds:.2f} s)")
        # Targets after the last frame repeat it (the end of a segment, or a padded one).
        sampler.fill_until(total)
        for index in range(released, total):
            yield sampler.done[index]
            sampler.done[index] = None


def release_frame_interval(frame_count: int, seconds: float) -> int:
    """Frames per segment under the release protocol: floor(frames / duration), where a video
    within `DURATION_TOLERANCE_S` of whole seconds counts as those seconds (the authors divided
    by 10 for their 10-s videos); other durations are used as they are, so a trailing partial
    second does not stretch the segments."""
    nominal = round(seconds)
    span = nominal if nominal >= 1 and abs(seconds - nominal) <= DURATION_TOLERANCE_S else seconds
    return int(frame_count / span) if span > 0 else 0


def release_frame_indices(interval: int, segments: int, fps: int) -> list[list[int]]:
    """Frame numbers of each segment under the release protocol (see the module docstring),
    computed with the same floating-point expression as the authors' script."""
    return [
        [int(s * interval + (i * 1.0 / fps) * interval) for i in range(fps)]
        for s in range(segments)
    ]


def resize_bilinear(image: np.ndarray, size: int) -> np.ndarray:
    """uint8 [H, W, 3] -> uint8 [size, size, 3] as OpenCV's `cv2.resize` INTER_LINEAR computes it
    on x86: half-pixel centres, edge pixels repeated, no antialiasing, 11-bit fixed-point
    weights and its vectorized rounding. Measured against opencv-python-headless 5.0: identical
    when shrinking (360p, 480p, 720p, 1080p, 448 x 448 -> 224), within one level on ~0.1% of
    the values when enlarging."""
    height, width = image.shape[:2]
    if (height, width) == (size, size):
        return image
    rows, rows_next, row_low, row_high = _fixed_point_taps(height, size)
    cols, cols_next, col_low, col_high = _fixed_point_taps(width, size)

    def horizontal(source_rows):  # [size, size, C], scaled by 2^11 (fits int32)
        picked = image[source_rows].astype(np.int32)
        return (
            picked[:, cols] * col_low[None, :, None]
            + picked[:, cols_next] * col_high[None, :, None]
        )

    top, bottom = horizontal(rows) >> 4, horizontal(rows_next) >> 4
    low, high = row_low[:, None, None], row_high[:, None, None]
    out = (((low * top) >> 16) + ((high * bottom) >> 16) + 2) >> 2
    return np.clip(out, 0, 255).astype(np.uint8)


_COEF_SCALE = np.float32(2048)  # OpenCV's INTER_RESIZE_COEF_SCALE (11 bits)


def _fixed_point_taps(source: int, size: int):
    """Per output position: the two source indices and their 11-bit weights (OpenCV's rules)."""
    position = ((np.arange(size) + 0.5) * (source / size) - 0.5).astype(np.float32)
    lower = np.floor(position).astype(np.int64)
    fraction = position - lower.astype(np.float32)
    before = lower < 0
    fraction[before], lower[before] = 0, 0
    after = lower >= source - 1
    fraction[after], lower[after] = 0, source - 1
    upper = np.minimum(lower + 1, source - 1)
    high = np.rint(fraction * _COEF_SCALE).astype(np.int32)
    low = np.rint((np.float32(1) - fraction) * _COEF_SCALE).astype(np.int32)
    return lower, upper, low, high


class _FrameSampler:
    """Picks the frame on screen at each target time s + (i + 0.5) / fps, in decoding order."""

    def __init__(self, fps: int, size: int):
        self.fps, self.size = fps, size
        self.held = None  # [frame, RGB array or None]: the frame on screen at the next target
        self.next_target = 0  # over all sampled frames: segment * fps + i
        self.current: list[np.ndarray] = []
        self.done: list[np.ndarray | None] = []  # completed segments

    def _target_time(self) -> float:
        return self.next_target // self.fps + (self.next_target % self.fps + 0.5) / self.fps

    def _take(self) -> None:
        if self.held[1] is None:
            self.held[1] = (
                self.held[0]
                .reformat(
                    width=self.size, height=self.size, format="rgb24", interpolation="BILINEAR"
                )
                .to_ndarray()
            )
        self.current.append(self.held[1])
        self.next_target += 1
        if len(self.current) == self.fps:
            self.done.append(np.stack(self.current))
            self.current = []

    def advance_to(self, frame, time: float) -> None:
        """Samples every target before `time` (shown by the held frame), then holds `frame`."""
        if self.held is None:
            self.held = [frame, None]  # targets before the first frame show it
        while self._target_time() < time:
            self._take()
        self.held = [frame, None]

    def fill_until(self, segments: int) -> None:
        """Completes segments up to `segments` with the held (last) frame."""
        while len(self.done) < segments:
            self._take()
