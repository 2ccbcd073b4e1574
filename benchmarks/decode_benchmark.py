"""Decoding and frame sampling speed of the two extraction protocols (no networks).

  .venv/bin/python benchmarks/decode_benchmark.py

For generated 10-s 25-fps videos of three sizes: `VideoDecoder(...).segments()` with 16 frames
per second under `release` (frames by index, converted to RGB whole, resized like OpenCV) and
`timed` (frames by time, resized by FFmpeg); best of 3, seconds of video decoded per second.
"""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from ave_tf.features.video_decoding import FRAME_SAMPLINGS, DecodeConfig, VideoDecoder  # noqa: E402
from tests.video_fixtures import write_video  # noqa: E402

SIZES = ((320, 240), (640, 360), (1280, 720))
DURATION = 10.0


def decode_seconds(path: str, sampling: str, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        decoder = VideoDecoder(path, DecodeConfig(frame_sampling=sampling))
        for _ in decoder.segments(limit=decoder.audio_segments):
            pass
        best = min(best, time.perf_counter() - start)
    return best


def main():
    print("| video | " + " | ".join(FRAME_SAMPLINGS) + " |  (seconds of video per second)")
    print("|---|" + "---|" * len(FRAME_SAMPLINGS))
    with tempfile.TemporaryDirectory() as tmp:
        for width, height in SIZES:
            path = write_video(
                os.path.join(tmp, f"{width}x{height}.mp4"),
                duration=DURATION,
                fps=25,
                width=width,
                height=height,
            )
            rates = [DURATION / decode_seconds(path, s) for s in FRAME_SAMPLINGS]
            print(f"| {width}x{height} | " + " | ".join(f"{r:.1f}" for r in rates) + " |")


if __name__ == "__main__":
    main()
