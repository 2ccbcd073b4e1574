"""Decodes a video file into 1-s segments: sampled RGB frames and a 16 kHz mono waveform.

FFmpeg does the work through PyAV (`av`), so every container and codec of PyAV's FFmpeg build
is readable (mp4, webm, mkv, avi, mov, ...). Decoding is streamed: frames are converted only
when sampled, and `VideoDecoder.segments()` yields one segment at a time, so memory does not
grow with the length of the video (the waveform, ~64 kB per second, is held whole).

Timing rules (the AVE convention: segment s covers seconds [s, s + 1) of the video):
  - Time 0 is the earlier of the two streams' start times; the waveform is shifted onto it.
  - Frame i of segment s is the frame on screen at s + (i + 0.5) / frames_per_second.
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


class VideoError(ValueError):
    """A video that cannot be turned into segments (the message starts with its path)."""


@dataclasses.dataclass(frozen=True)
class DecodeConfig:
    """How videos are decoded.

    Attributes:
      frames_per_second: frames sampled uniformly in each 1-s segment (16 in the paper).
      frame_size: frames are resized to frame_size x frame_size (224 for VGG-19).
      pad_last: keep a trailing partial second as a padded segment (see the module docstring).
      resampler: "auto" (tensorflow-io where its ops load, else FFmpeg), "tfio" or "ffmpeg".
    """

    frames_per_second: int = 16
    frame_size: int = 224
    pad_last: bool = False
    resampler: str = "auto"

    def __post_init__(self):
        if self.frames_per_second < 1:
            raise ValueError(f"frames_per_second must be >= 1, got {self.frames_per_second}")
        if self.frame_size < 1:
            raise ValueError(f"frame_size must be >= 1, got {self.frame_size}")
        if self.resampler not in RESAMPLERS:
            raise ValueError(f"resampler must be one of {RESAMPLERS}, got {self.resampler!r}")


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
    if resampler == "tfio" or (resampler == "auto" and load_tfio()[0] is not None):
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
