"""Resampling to 16 kHz: FFmpeg (libswresample, the default) against tensorflow-io (optional).

  .venv-tfio/bin/python benchmarks/resample_benchmark.py   # both (tensorflow-io's ops load)
  .venv/bin/python benchmarks/resample_benchmark.py        # FFmpeg only on the default stack

Prints, per input rate, the best of 5 runs on 10 s of noise and the seconds of audio resampled
per second of wall time.
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from ave_tf.features.video_decoding import resample_ffmpeg, resample_tfio  # noqa: E402
from ave_tf.utils.tfio_compat import load_tfio  # noqa: E402


def best_seconds(function, waveform, rate, repeats=5) -> float:
    function(waveform, rate)  # warm-up (tensorflow-io loads its ops on first use)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function(waveform, rate)
        best = min(best, time.perf_counter() - start)
    return best


def main():
    resamplers = {"ffmpeg": resample_ffmpeg}
    if load_tfio()[0] is not None:
        resamplers["tfio"] = resample_tfio
    else:
        print(f"tensorflow-io: {load_tfio()[1]}")
    rng = np.random.default_rng(0)
    print("| input rate | resampler | 10 s of audio | audio seconds per second |")
    print("|---|---|---|---|")
    for rate in (44100, 48000, 22050):
        waveform = (rng.normal(size=rate * 10) * 0.1).astype(np.float32)
        for name, function in resamplers.items():
            seconds = best_seconds(function, waveform, rate)
            print(f"| {rate} Hz | {name} | {seconds * 1000:.1f} ms | {10 / seconds:.0f} |")


if __name__ == "__main__":
    main()
