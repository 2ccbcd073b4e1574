"""Memory and speed of ave_convert on a fake AVE release of any size.

  .venv/bin/python benchmarks/convert_benchmark.py              # full size: 4143 videos, 7.7 GB
  .venv/bin/python benchmarks/convert_benchmark.py --videos=200 # a quick run

Writes a fake release (the real file names, keys, float64 dtypes; random features) into a
temporary folder, or reuses --h5_dir; drops the h5 files from the page cache so the converter reads
from disk; runs `ave_convert` in a child process; prints its peak RSS (the child's ru_maxrss),
wall time, h5 MiB/s consumed, output size and the machine load. Deletes what it wrote unless --keep.

Measured (full size, default flags: 4143 + 178 videos, 8313 MiB of float64 h5 read from a cold
page cache, float32 output 4.06 GiB; 2 CPU cores shared with other jobs, load average 7.6-9.0):
peak RSS 746 MiB (of which ~500 MiB is TensorFlow itself), 85 s converting = 97 MiB/s of h5
input, 113 s wall with start-up, 29 s of CPU. Reading the same disk cold runs at ~2 GB/s, so on
this machine the converter is CPU-bound (~300 MiB of input per CPU-second), not disk-bound.
"""

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))  # fake_release.py, the tests' release writer

from fake_release import write_fake_release  # noqa: E402


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=4143, help="Videos in the fake release.")
    parser.add_argument("--noisy", type=int, default=178, help="Background (noisy) videos.")
    parser.add_argument("--h5_dir", default="", help="Reuse this release instead of writing one.")
    parser.add_argument("--work_dir", default="", help="Where temporary folders go (default /tmp).")
    parser.add_argument("--match", action="store_true", help="Also write the *_match splits.")
    parser.add_argument("--visual_dtype", default="float32", choices=["float32", "float16"])
    parser.add_argument("--chunk_videos", type=int, default=32)
    parser.add_argument("--warm", action="store_true", help="Keep the h5 files in page cache.")
    parser.add_argument("--keep", action="store_true", help="Keep the fake release and output.")
    return parser.parse_args()


def _drop_from_page_cache(directory: str) -> None:
    """Evicts the (clean, synced) pages of the release's files, so reads come from the disk."""
    os.sync()
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _size(path: str) -> int:
    return sum(
        os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(path) for f in files
    )


def _run_converter(h5_dir: str, output_dir: str, args) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    command = [
        sys.executable,
        "-m",
        "ave_tf.bin.ave_convert",
        f"--h5_dir={h5_dir}",
        f"--output_dir={output_dir}",
        f"--visual_dtype={args.visual_dtype}",
        f"--chunk_videos={args.chunk_videos}",
        "--noprogress",
    ]
    load_before = os.getloadavg()
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    stdout = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"ave_convert failed with exit code {child.returncode}")
    match = re.search(r"in ([\d.]+) s; read (\d+) MiB of h5 features at (\d+) MiB/s", stdout)
    return {
        "peak_rss_mib": round(usage.ru_maxrss / 1024),  # Linux reports KiB
        "wall_s": round(wall, 1),
        "convert_s": float(match.group(1)),
        "input_mib": int(match.group(2)),
        "input_mib_per_s_convert": int(match.group(3)),
        "input_mib_per_s_wall": round(int(match.group(2)) / wall),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "stdout": stdout.strip().splitlines()[-1],
    }


def main() -> None:
    args = _parse_args()
    work = tempfile.mkdtemp(prefix="ave_convert_bench-", dir=args.work_dir or None)
    try:
        h5_dir = args.h5_dir
        if not h5_dir:
            h5_dir = os.path.join(work, "release")
            started = time.perf_counter()
            write_fake_release(
                h5_dir,
                num_videos=args.videos,
                num_noisy=args.noisy,
                match_orders=args.match,
                keep_arrays=False,
            )
            print(
                f"wrote a fake release of {_size(h5_dir) / 2**30:.2f} GiB in "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )
        if not args.warm:
            _drop_from_page_cache(h5_dir)
        output_dir = os.path.join(work, "tfrecords")
        result = _run_converter(h5_dir, output_dir, args)
        result["output_gib"] = round(_size(output_dir) / 2**30, 2)
        result["visual_dtype"] = args.visual_dtype
        result["cold_cache"] = not args.warm
        result["cpus"] = os.cpu_count()
        for key, value in result.items():
            print(f"{key:>24}: {value}")
        print(json.dumps(result))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    # The benchmark's own peak, for comparison (it never holds a whole feature file either).
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"benchmark process peak RSS: {own_peak} MiB")


if __name__ == "__main__":
    main()
