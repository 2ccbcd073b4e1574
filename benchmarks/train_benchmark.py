"""Training speed and memory of A+V-att (DMRN late fusion) on this machine.

  python benchmarks/train_benchmark.py --data_dir=/tmp/ave_full   # generates it if missing
  python benchmarks/train_benchmark.py --data_dir=/tmp/ave_full --mixed_precision=mixed_bfloat16

Prints seconds per epoch, videos/s and the peak RSS of the training process (the whole
process: TensorFlow, the input pipeline, the model). The dataset is generated at full scale
(`ave_synth --full_scale`: 3339 training videos, like the real AVE) when --data_dir is empty.
Reference (brief): the original PyTorch code trains about 3339 videos in 15-16 s per epoch
here, with ~10 GB RSS because it loads every feature into memory.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

from ave_tf.utils.metric_values import format_metric


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--mixed_precision", default="")
    parser.add_argument("--fusion", default="dmrn")
    parser.add_argument("--attention", type=int, default=1)
    parser.add_argument("--cache", default="")
    parser.add_argument(
        "--allocator", choices=["bfc", "default"], default="bfc",
        help="TensorFlow CPU allocator: bfc (what the binaries use) or TF's default",
    )  # fmt: skip
    args = parser.parse_args()

    if not os.path.exists(os.path.join(args.data_dir, "dataset.json")):
        print(f"generating the full-scale synthetic dataset into {args.data_dir} ...", flush=True)
        start = time.time()
        subprocess.run(
            [sys.executable, "-m", "ave_tf.bin.ave_synth", f"--output_dir={args.data_dir}",
             "--full_scale", "--noprogress"],
            check=True,
        )  # fmt: skip
        print(f"generated in {time.time() - start:.0f}s", flush=True)

    os.environ["TF_CPU_ALLOCATOR_USE_BFC"] = "true" if args.allocator == "bfc" else "false"
    import ave_tf.bin  # noqa: F401  (the binaries' process settings, before TensorFlow loads)
    from ave_tf.experiments import get_experiment
    from ave_tf.training.trainer import train

    experiment = get_experiment("table1/av_att").override(
        {
            "model": {"attention": bool(args.attention), "fusion": args.fusion},
            "data": {"data_dir": args.data_dir, "cache": args.cache},
            "trainer": {
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "mixed_precision": args.mixed_precision,
                "log_attention_videos": 0,
                "verbose": False,
            },
        }
    )
    model_dir = tempfile.mkdtemp(prefix="train_benchmark-")
    rss_before = peak_rss_mib()
    train(experiment, model_dir)
    with open(os.path.join(model_dir, "metrics.jsonl")) as f:
        epochs = [json.loads(line) for line in f]
    print(
        f"cpu count: {os.cpu_count()}, load average: {os.getloadavg()}, allocator: {args.allocator}"
    )
    # Bookkeeping outside the steps (metrics.jsonl "overhead"; a save shows one line late).
    phases = [
        "release_input", "validation", "next_input", "best_weights", "tensorboard", "checkpoint",
    ]  # fmt: skip
    print("epoch  seconds  input_wait_s  videos/s  val_accuracy  " + "  ".join(phases))
    for record in epochs:
        train_metrics = record["train"]
        overhead = record.get("overhead", {})
        print(
            f"{record['epoch']:5d}  {train_metrics['seconds']:7.1f}  "
            f"{train_metrics['input_wait_seconds']:12.1f}  "
            f"{train_metrics['videos_per_second']:8.1f}  "
            f"{format_metric(record['val'].get('accuracy')):>12}  "
            + "  ".join(
                f"{format_metric(overhead.get(f'{p}_seconds'), 2):>{len(p)}}" for p in phases
            )
        )
    steady = epochs[1:] or epochs  # the first epoch includes tracing
    mean_seconds = sum(r["train"]["seconds"] for r in steady) / len(steady)
    mean_rate = sum(r["train"]["videos_per_second"] for r in steady) / len(steady)
    print(f"steady state: {mean_seconds:.1f} s/epoch, {mean_rate:.1f} videos/s")
    print(f"peak RSS: {peak_rss_mib():.0f} MiB (before training: {rss_before:.0f} MiB)")


if __name__ == "__main__":
    main()
