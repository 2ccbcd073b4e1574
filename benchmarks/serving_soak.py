"""Soak test of ave_serve: many requests while versions are hot-swapped; errors and RSS growth.

  .venv/bin/python benchmarks/serving_soak.py                    # 10,000 requests, 20 swaps
  .venv/bin/python benchmarks/serving_soak.py --requests=2000 --swaps=5 --json=soak.json

Exports the default demo model (A+V-att, DMRN, random weights) unless --saved_model is given,
serves it with `ave_serve` in a child process (gRPC on loopback, latest-1 policy, polling every
0.2 s), sends batch-1 Predict requests of 10-s videos from --threads callers, and publishes a new
version (a copy of the same SavedModel, renamed into place) every requests/(swaps+1) requests, so
each swap loads one version and unloads the previous one under load. The baseline is taken after
a warm-up of --warmup requests and --warmup_swaps swaps (holding two versions during a swap raises
the allocators' high-water mark once); then --requests requests with --swaps swaps. Prints the
failed requests, the versions served, and the server's resident memory (VmRSS) before the warm-up
swaps, at the baseline, after each swap and at the end: the growth is what unloading fails to
give back.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
from serving_benchmark import _export_default_model  # noqa: E402 (the same demo model)

from ave_tf.export import signatures as sig  # noqa: E402
from ave_tf.export import versions  # noqa: E402
from ave_tf.serving.client import ServingClient  # noqa: E402


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saved_model", default="", help="A SavedModel version folder to serve.")
    parser.add_argument("--requests", type=int, default=10000, help="Predict requests in all.")
    parser.add_argument("--swaps", type=int, default=20, help="New versions published meanwhile.")
    parser.add_argument("--threads", type=int, default=4, help="Concurrent callers.")
    parser.add_argument("--warmup", type=int, default=200, help="Requests before the baseline.")
    parser.add_argument(
        "--warmup_swaps",
        type=int,
        default=2,
        help="Swaps before the baseline (a swap holds two versions at once: the first ones "
        "raise the allocators' high-water mark once).",
    )
    parser.add_argument("--json", default="", help="Also write the results to this file.")
    # The server's log goes to $TMPDIR/serving_soak_server.log.
    return parser.parse_args()


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _start_server(base: str, log) -> tuple[subprocess.Popen, str]:
    command = [
        sys.executable, "-m", "ave_tf.bin.ave_serve", f"--model_base_path={base}",
        "--host=127.0.0.1", "--port=0", "--file_system_poll_wait_seconds=0.2",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise RuntimeError(f"ave_serve did not start: {line!r}")
    return process, line.strip().rsplit(" ", 1)[-1]


def _wait_for_version(client: ServingClient, version: int, timeout: float = 300) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        statuses = client.model_status("ave", timeout=10).model_version_status
        if [s.version for s in statuses if s.state == s.AVAILABLE] == [version]:
            return time.monotonic() - start
        time.sleep(0.05)
    raise RuntimeError(f"version {version} was not the only one served after {timeout} s")


def main() -> None:
    args = _parse_args()
    root = tempfile.mkdtemp(prefix="serving_soak_")
    source = args.saved_model or _export_default_model(root)
    base = os.path.join(root, "served")

    def publish(version: int) -> None:
        def copy(staging, _):
            shutil.rmtree(staging)
            shutil.copytree(source, staging)

        versions.publish_version(base, copy, version=version)

    publish(1)
    log_path = os.path.join(tempfile.gettempdir(), "serving_soak_server.log")
    with open(log_path, "w") as log:
        server, address = _start_server(base, log)
    rng = np.random.default_rng(0)
    inputs = {
        sig.AUDIO: rng.random((1, 10, 128), dtype=np.float32),
        sig.VISUAL: rng.random((1, 10, 7, 7, 512), dtype=np.float32),
    }
    clients = [ServingClient(address, timeout=120, retries=0) for _ in range(args.threads)]
    errors: list[str] = []
    served_versions: set[int] = set()
    lock = threading.Lock()

    def send(count: int) -> None:
        def worker(index: int) -> None:
            client = clients[index]
            for _ in range(index, count, args.threads):
                try:
                    request = client.predict_request(inputs, "ave", sig.SUPERVISED)
                    response = client.predict_response(request)
                    with lock:
                        served_versions.add(response.model_spec.version.value)
                except Exception as e:  # noqa: BLE001 - every failure is counted
                    with lock:
                        errors.append(repr(e)[:200])

        with futures.ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(worker, range(args.threads)))

    try:
        _wait_for_version(clients[0], 1)
        send(args.warmup)
        before_warmup_swaps = _rss_mb(server.pid)
        for swap in range(args.warmup_swaps):
            publish(swap + 2)
            send(args.warmup)
            _wait_for_version(clients[0], swap + 2)
        first = args.warmup_swaps + 2
        baseline = _rss_mb(server.pid)
        rss_after_swap = []
        per_phase = args.requests // (args.swaps + 1)
        sent = 0
        start = time.monotonic()
        for swap in range(args.swaps):
            loader = threading.Thread(target=publish, args=(first + swap,))
            loader.start()  # the swap happens while requests flow
            send(per_phase)
            sent += per_phase
            loader.join()
            _wait_for_version(clients[0], first + swap)
            rss_after_swap.append(_rss_mb(server.pid))
            print(
                f"swap {swap + 1}: version {first + swap}, RSS {rss_after_swap[-1]:.0f} MiB",
                flush=True,
            )
        send(args.requests - sent)
        elapsed = time.monotonic() - start
        final = _rss_mb(server.pid)
    finally:
        for client in clients:
            client.close()
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(root, ignore_errors=True)
    result = {
        "requests": args.requests,
        "swaps": args.swaps,
        "warmup": {"requests": args.warmup * (args.warmup_swaps + 1), "swaps": args.warmup_swaps},
        "errors": len(errors),
        "first_errors": errors[:5],
        "versions_served": sorted(served_versions),
        "rss_before_warmup_swaps_mb": round(before_warmup_swaps, 1),
        "rss_baseline_mb": round(baseline, 1),
        "rss_max_after_swap_mb": round(max(rss_after_swap), 1) if rss_after_swap else None,
        "rss_final_mb": round(final, 1),
        "rss_growth_mb": round(final - baseline, 1),
        "rss_max_growth_mb": round(max([final, *rss_after_swap]) - baseline, 1),
        "requests_per_s": round(args.requests / elapsed, 1),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
