"""Feature extraction speed by stage: seconds of video processed per second of wall time.

  .venv/bin/python benchmarks/extract_benchmark.py                   # 10-s video, 16 fps (paper)
  .venv/bin/python benchmarks/extract_benchmark.py --frames_per_second=4 --duration=5

Writes a test video (moving square + tone, 320x240 at 25 fps, H.264/AAC) and extracts it with
random weights (the same FLOPs as the real ones) after a warm-up that traces both networks.
Stages, each timed alone:
  decode: audio decoding + 16 kHz resampling + video decoding, frame sampling and resizing;
  vgg19: VGG-19 pool5 of the sampled 224x224 frames, averaged per segment;
  vggish: log-mel front end + VGGish, one example per segment.
Prints one line per stage and the end-to-end rate, plus the machine load (CPU is shared).

Runs TensorFlow with ave_extract's kernels (oneDNN unless TF_ENABLE_ONEDNN_OPTS says otherwise).
Measured with the defaults (10 s, 16 frames per segment, TF 2.21, 2 AVX2/FMA cores, nothing
else running): decode 9.1 s of video per s, VGG-19 0.18 (2.9 frames/s, 114 GFLOP/s), VGGish
41, end to end 0.18 (57 s for 10 s). VGG-19 dominates (39 GFLOP a frame); decoding runs in a
thread ahead of it, which only pays where a core is free for it.
"""

import argparse
import json
import os
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))  # video_fixtures.py, the tests' video writer
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from video_fixtures import write_video  # noqa: E402

from ave_tf.bin import _convolution_kernels  # noqa: E402, F401 - ave_extract's kernels (oneDNN)
from ave_tf.features.extraction import ExtractionConfig, FeatureExtractor  # noqa: E402
from ave_tf.features.video_decoding import VideoDecoder  # noqa: E402


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="Video length (s).")
    parser.add_argument("--frames_per_second", type=int, default=16, help="Sampled frames per s.")
    parser.add_argument("--frame_batch_size", type=int, default=32, help="VGG-19 batch (frames).")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=int, default=25, help="Frame rate of the test video.")
    parser.add_argument("--output", default="", help="Also write the numbers to this JSON file.")
    return parser.parse_args()


def _timed(function):
    start = time.perf_counter()
    value = function()
    return value, time.perf_counter() - start


def main() -> None:
    args = _parse_args()
    config = ExtractionConfig(
        random_weights=True,
        frames_per_second=args.frames_per_second,
        frame_batch_size=args.frame_batch_size,
    )
    with tempfile.TemporaryDirectory() as tmp:
        video = write_video(
            os.path.join(tmp, "bench.mp4"),
            duration=args.duration,
            fps=args.fps,
            width=args.width,
            height=args.height,
        )
        warmup = write_video(os.path.join(tmp, "warmup.mp4"), duration=1.0)
        extractor, build_seconds = _timed(lambda: FeatureExtractor(config))
        _, warmup_seconds = _timed(lambda: extractor.extract(warmup))

        def decode():
            decoder = VideoDecoder(video, config.decode_config())
            return decoder, list(decoder.segments(limit=decoder.audio_segments))

        (decoder, segments), decode_seconds = _timed(decode)
        visual, vgg19_seconds = _timed(lambda: extractor.visual.segment_features(segments))
        _, vggish_seconds = _timed(lambda: extractor.audio(decoder.waveform, len(visual)))
        _, end_to_end_seconds = _timed(lambda: extractor.extract(video))

    seconds = len(segments)
    rates = {
        "decode": seconds / decode_seconds,
        "vgg19": seconds / vgg19_seconds,
        "vggish": seconds / vggish_seconds,
        "end_to_end": seconds / end_to_end_seconds,
    }
    load = os.getloadavg()
    print(
        f"{seconds} s of {args.width}x{args.height} video, {args.frames_per_second} frames per "
        f"segment, {os.cpu_count()} CPUs, load average {load[0]:.1f}"
    )
    print(f"networks built in {build_seconds:.1f} s, warm-up (tracing) {warmup_seconds:.1f} s")
    stage_seconds = {
        "decode": decode_seconds,
        "vgg19": vgg19_seconds,
        "vggish": vggish_seconds,
        "end_to_end": end_to_end_seconds,
    }
    for stage, rate in rates.items():
        print(
            f"{stage:>10}: {rate:8.2f} s of video per s  ({stage_seconds[stage]:.2f} s wall "
            f"for {seconds} s)"
        )
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "video_seconds": seconds,
                    "frames_per_second": args.frames_per_second,
                    "seconds_of_video_per_second": rates,
                    "wall_seconds": stage_seconds,
                    "load_average": load[0],
                    "cpus": os.cpu_count(),
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
