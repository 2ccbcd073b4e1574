"""Small real videos for tests, written with PyAV: a moving square with a tone.

Each video shows a white square crossing a dark background (its x position tells the time)
and carries a sine tone, so decoding tests can check both frame timing and the audio track.
"""

import fractions
import os

import av
import numpy as np

# Container -> (video codec, audio codec, pixel format); all ship with PyAV's FFmpeg build.
CODECS = {
    "mp4": ("libx264", "aac", "yuv420p"),
    "webm": ("libvpx", "libopus", "yuv420p"),
    "mkv": ("mpeg4", "mp3", "yuv420p"),
}
# Sample rates each audio encoder accepts (opus only runs at 48 kHz).
_AUDIO_RATES = {"aac": 44100, "libopus": 48000, "mp3": 22050}


def square_frame(t: float, duration: float, width: int, height: int) -> np.ndarray:
    """RGB frame at time t: a white square whose left edge moves linearly across the frame."""
    frame = np.full((height, width, 3), 32, dtype=np.uint8)
    size = max(2, height // 4)
    x = int(round((width - size) * min(max(t / duration, 0.0), 1.0)))
    top = (height - size) // 2
    frame[top : top + size, x : x + size] = 255
    return frame


def tone(duration: float, rate: int, frequency: float = 440.0, channels: int = 2) -> np.ndarray:
    """[channels, samples] float32 sine tone at 0.5 amplitude."""
    t = np.arange(int(round(duration * rate))) / rate
    wave = (0.5 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    return np.repeat(wave[None, :], channels, axis=0)


def write_video(
    path: str,
    duration: float = 2.0,
    *,
    fps: int = 24,
    width: int = 64,
    height: int = 48,
    audio: bool = True,
    video: bool = True,
    frequency: float = 440.0,
    video_duration: float | None = None,
) -> str:
    """Writes a test video; the container (mp4, webm, mkv) is chosen by the file extension.

    `video_duration` makes the video stream shorter or longer than the audio (`duration`).
    """
    video_duration = duration if video_duration is None else video_duration
    container_name = os.path.splitext(path)[1].lstrip(".")
    video_codec, audio_codec, pix_fmt = CODECS[container_name]
    with av.open(path, mode="w") as container:
        if video:
            vstream = container.add_stream(video_codec, rate=fps)
            vstream.width, vstream.height, vstream.pix_fmt = width, height, pix_fmt
        if audio:
            rate = _AUDIO_RATES[audio_codec]
            astream = container.add_stream(audio_codec, rate=rate)
            astream.layout = "stereo"
        if video:
            for i in range(int(round(video_duration * fps))):
                frame = av.VideoFrame.from_ndarray(
                    square_frame(i / fps, video_duration, width, height), format="rgb24"
                )
                frame.pts = i
                frame.time_base = fractions.Fraction(1, fps)
                container.mux(vstream.encode(frame))
            container.mux(vstream.encode(None))
        if audio:
            samples = tone(duration, rate, frequency)
            chunk = astream.codec_context.frame_size or 1024
            for start in range(0, samples.shape[1], chunk):
                block = np.ascontiguousarray(samples[:, start : start + chunk])
                frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
                frame.sample_rate = rate
                frame.pts = start
                frame.time_base = fractions.Fraction(1, rate)
                container.mux(astream.encode(frame))
            container.mux(astream.encode(None))
    return path


def write_corrupt_file(path: str, size: int = 4096, seed: int = 0) -> str:
    """A file with a video extension and random bytes."""
    with open(path, "wb") as f:
        f.write(np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes())
    return path
