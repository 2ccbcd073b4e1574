"""VGG-19 pool5 (and VGGish) throughput against this machine's measured GEMM peak, in one run.

  .venv/bin/python benchmarks/vgg19_peak_benchmark.py
  .venv/bin/python benchmarks/vgg19_peak_benchmark.py --batch_sizes=16,32,64 --repeats=5

The peak is the best rate of a large square float32 matmul (`--peak_size`, default 4096:
137 GFLOP a call) timed in this process, the better of TensorFlow's (with the same kernel
settings as the networks) and NumPy's BLAS (OpenBLAS in the wheel), so the ratio is "how much of
what this machine's best GEMM does, the convolutions get"; both are printed. Each network
runs exactly as `ave_extract` runs it (`VisualFeatureExtractor` / `AudioFeatureExtractor`, random
weights of the real shapes: the FLOPs are the same) on batches of frames; FLOPs are counted from
the layers (2 x multiply-adds of every convolution and dense layer), so the printed GFLOP/s is
useful work, not a vendor's op count. The best of `--repeats` timed calls after a warm-up call.

Run it once with TF_ENABLE_ONEDNN_OPTS=0 and once with =1 to compare TensorFlow's kernels
(TensorFlow reads the variable at import, so one process measures one setting): the line
"kernels" says which one ran. On a shared machine the numbers only mean something quiet.
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from ave_tf.features.vggish import build_vggish  # noqa: E402
from ave_tf.features.visual_features import FRAME_SIZE, VisualFeatureExtractor  # noqa: E402


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_sizes", default="32", help="Frames per VGG-19 call, a list.")
    parser.add_argument("--vggish_batch", type=int, default=64, help="VGGish examples per call.")
    parser.add_argument("--peak_size", type=int, default=4096, help="Side of the peak matmul.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output_json", default="")
    return parser.parse_args()


def model_flops(model: keras.Model) -> float:
    """FLOPs (2 x multiply-adds) of one example through the convolutions and dense layers."""
    total = 0.0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, channels_out = layer.output.shape
            kernel_h, kernel_w, channels_in, _ = layer.kernel.shape
            total += 2.0 * height * width * channels_out * kernel_h * kernel_w * channels_in
        elif isinstance(layer, keras.layers.Dense):
            fan_in, units = layer.kernel.shape
            total += 2.0 * fan_in * units
    return total


def best_seconds(call, repeats: int) -> float:
    call()  # warm-up: tracing, kernel selection, first-touch of the buffers
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_peaks(size: int, repeats: int) -> dict[str, float]:
    """GFLOP/s of the best float32 [size, size] x [size, size] matmul, TensorFlow's and NumPy's."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal([size, size], dtype=np.float32)
    b = rng.standard_normal([size, size], dtype=np.float32)
    flops = 2.0 * size**3
    tf_a, tf_b = tf.constant(a), tf.constant(b)
    matmul = tf.function(lambda: tf.matmul(tf_a, tf_b))
    return {
        "tensorflow": flops / best_seconds(lambda: matmul().numpy(), repeats) / 1e9,
        "numpy": flops / best_seconds(lambda: a @ b, repeats) / 1e9,
    }


def kernels_in_use() -> str:
    """Which kernels TensorFlow runs in this process (it decides once, at import)."""
    try:
        from tensorflow.python.util import _pywrap_util_port  # private; the answer TF acts on

        onednn = _pywrap_util_port.IsMklEnabled()
    except (ImportError, AttributeError):
        onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "1"
    setting = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset")
    return f"{'oneDNN' if onednn else 'Eigen'} (TF_ENABLE_ONEDNN_OPTS={setting})"


def main() -> None:
    args = _parse_args()
    rng = np.random.default_rng(0)
    peaks = matmul_peaks(args.peak_size, args.repeats)
    peak = max(peaks.values())
    rows = {"kernels": kernels_in_use(), "peak_gflops": peak, "matmul_gflops": peaks}
    rows.update(vgg19=[], vggish=None)
    print(f"kernels: {rows['kernels']}; {os.cpu_count()} logical CPUs")
    print(
        f"peak: float32 matmul {args.peak_size}^3: {peak:.1f} GFLOP/s (TensorFlow "
        f"{peaks['tensorflow']:.1f}, NumPy's BLAS {peaks['numpy']:.1f})"
    )

    visual = VisualFeatureExtractor(random_weights=True)
    frame_flops = model_flops(visual.model)
    for batch in (int(b) for b in args.batch_sizes.split(",")):
        frames = rng.integers(0, 256, [batch, FRAME_SIZE, FRAME_SIZE, 3], dtype=np.uint8)
        seconds = best_seconds(lambda frames=frames: visual.frame_features(frames), args.repeats)
        rate = batch * frame_flops / seconds / 1e9
        row = {"batch": batch, "frames_per_second": batch / seconds, "gflops": rate}
        rows["vgg19"].append(row)
        print(
            f"vgg19 pool5, batch {batch}: {batch / seconds:.2f} frames/s, {rate:.1f} GFLOP/s "
            f"({frame_flops / 1e9:.2f} GFLOP/frame), {100 * rate / peak:.0f}% of peak"
        )

    vggish = build_vggish(random_seed=0)
    example_flops = model_flops(vggish)
    examples = tf.constant(rng.standard_normal([args.vggish_batch, *vggish.input.shape[1:]]))
    examples = tf.cast(examples, tf.float32)
    forward = tf.function(lambda x: vggish(x, training=False))
    seconds = best_seconds(lambda: forward(examples).numpy(), args.repeats)
    rate = args.vggish_batch * example_flops / seconds / 1e9
    rows["vggish"] = {
        "batch": args.vggish_batch,
        "examples_per_second": args.vggish_batch / seconds,
        "gflops": rate,
    }
    print(
        f"vggish, batch {args.vggish_batch}: {args.vggish_batch / seconds:.1f} examples/s "
        f"(0.96 s of audio each), {rate:.1f} GFLOP/s, {100 * rate / peak:.0f}% of peak"
    )
    if args.output_json:
        with open(args.output_json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
