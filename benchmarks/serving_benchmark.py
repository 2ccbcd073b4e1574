"""Predict latency and throughput: the SavedModel in process vs. through gRPC (ave_serve).

  .venv/bin/python benchmarks/serving_benchmark.py                       # default demo model
  .venv/bin/python benchmarks/serving_benchmark.py --saved_model=export/ave/1 --json=out.json

Without --saved_model it builds the default demo model (A+V-att, DMRN fusion, random weights,
`use_cudnn=False`) and exports it into a temporary folder. Then, on 10-s videos (T = 10):

- latency p50/p99 of `serving_default` for batch 1 and batch 32, in process (the loaded
  signature called on tensors) and through gRPC (`ave_serve` on loopback in a child process,
  timed by the client: encode, send, run, receive, decode);
- videos/s under concurrent load (--threads callers, batch 1 and batch 32), both ways;
- the serialization share of a gRPC call: numpy -> TensorProto -> bytes for the request and back
  for the response, on both sides (measured separately in this process), over the gRPC p50.

Client and server share the machine's cores, so gRPC numbers include that contention.

Measured (default flags; 2 CPU cores shared with other jobs, load average 4-6): batch 1 p50
10.4 ms in process, 16.9 ms through gRPC (1.62x; an earlier run 1.43x), of which 0.7 ms (4%) is
serialization; batch 32 p50 280 ms vs 395 ms (1.41x), serialization 83 ms (21%, mostly the
client's copies of 31 MB); 8 concurrent callers: 189 videos/s in process, 84 through gRPC at
batch 1, 108 vs 70 at batch 32.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow_serving.apis import predict_pb2  # noqa: E402

from ave_tf.export import signatures as sig  # noqa: E402
from ave_tf.serving import tensor_codec  # noqa: E402
from ave_tf.serving.client import ServingClient  # noqa: E402

SEGMENTS = 10


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saved_model", default="", help="A SavedModel version folder to use.")
    parser.add_argument("--requests", type=int, default=200, help="Timed batch-1 requests.")
    parser.add_argument("--batch32_requests", type=int, default=30, help="Timed batch-32 ones.")
    parser.add_argument("--threads", type=int, default=8, help="Concurrent callers.")
    parser.add_argument("--json", default="", help="Also write the results to this file.")
    return parser.parse_args()


def _export_default_model(root: str) -> str:
    import keras

    from ave_tf.export.exporter import export_saved_model
    from ave_tf.models.config import ModelConfig
    from ave_tf.models.localization import build_localization_model

    keras.utils.set_random_seed(0)
    model = build_localization_model(ModelConfig(attention=True, fusion="dmrn"), use_cudnn=False)
    return export_saved_model(os.path.join(root, "ave"), model)


def _features(batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        sig.AUDIO: rng.random((batch, SEGMENTS, 128), dtype=np.float32),
        sig.VISUAL: rng.random((batch, SEGMENTS, 7, 7, 512), dtype=np.float32),
    }


def _latencies(call, inputs, count: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        call(inputs)
    out = []
    for _ in range(count):
        start = time.perf_counter()
        call(inputs)
        out.append(time.perf_counter() - start)
    return out


def _summary(latencies: list[float], batch: int) -> dict:
    ms = np.array(latencies) * 1000
    return {
        "batch": batch,
        "requests": len(latencies),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "videos_per_s_serial": batch * 1000 / float(np.percentile(ms, 50)),
    }


def _throughput(call, batch: int, threads: int, per_thread: int) -> float:
    """Videos/s with `threads` callers each sending `per_thread` requests."""
    inputs = [_features(batch, seed=s) for s in range(threads)]
    call(inputs[0])
    barrier = threading.Barrier(threads + 1)

    def worker(index):
        barrier.wait()
        for _ in range(per_thread):
            call(inputs[index])

    with futures.ThreadPoolExecutor(threads) as pool:
        running = [pool.submit(worker, i) for i in range(threads)]
        barrier.wait()
        start = time.perf_counter()
        for future in running:
            future.result()
        elapsed = time.perf_counter() - start
    return threads * per_thread * batch / elapsed


def _serialization_seconds(model_call, inputs: dict, repeats: int = 20) -> dict:
    """Time of the four conversions of one gRPC Predict (median of `repeats`)."""
    outputs = model_call(inputs)
    phases = {"client_encode": [], "server_decode": [], "server_encode": [], "client_decode": []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        request = predict_pb2.PredictRequest()
        for key, value in inputs.items():
            tensor_codec.fill_tensor_proto(request.inputs[key], value)
        wire = request.SerializeToString()
        t1 = time.perf_counter()
        parsed = predict_pb2.PredictRequest.FromString(wire)
        _ = {k: tensor_codec.to_ndarray(v) for k, v in parsed.inputs.items()}
        t2 = time.perf_counter()
        response = predict_pb2.PredictResponse()
        for key, value in outputs.items():
            tensor_codec.fill_tensor_proto(response.outputs[key], value)
        response_wire = response.SerializeToString()
        t3 = time.perf_counter()
        back = predict_pb2.PredictResponse.FromString(response_wire)
        _ = {k: tensor_codec.to_ndarray(v) for k, v in back.outputs.items()}
        t4 = time.perf_counter()
        for name, seconds in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            phases[name].append(seconds)
    out = {name: statistics.median(values) for name, values in phases.items()}
    out["total"] = sum(out.values())
    out["request_mb"] = len(wire) / 2**20
    return out


def _start_server(base: str) -> tuple[subprocess.Popen, str]:
    command = [
        sys.executable,
        "-m",
        "ave_tf.bin.ave_serve",
        f"--model_base_path={base}",
        "--host=127.0.0.1",
        "--port=0",
        "--file_system_poll_wait_seconds=0",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise RuntimeError(f"ave_serve did not start: {line!r}")
    return process, line.strip().rsplit(" ", 1)[-1]


def main() -> None:
    args = _parse_args()
    root = tempfile.mkdtemp(prefix="serving_benchmark_")
    path = args.saved_model or _export_default_model(root)
    base = os.path.dirname(os.path.abspath(path.rstrip("/")))
    loaded = tf.saved_model.load(path)
    signature = loaded.signatures[sig.SERVING_DEFAULT]

    def in_process(inputs):
        outputs = signature(**{k: tf.constant(v) for k, v in inputs.items()})
        return {k: v.numpy() for k, v in outputs.items()}

    server, address = _start_server(base)
    client = ServingClient(address, timeout=300, retries=0)

    def through_grpc(inputs):
        return client.predict(inputs, signature_name=sig.SERVING_DEFAULT)

    results = {"saved_model": path, "cpus": os.cpu_count(), "load_average": os.getloadavg()[0]}
    try:
        for name, call in (("in_process", in_process), ("grpc", through_grpc)):
            results[name] = {
                "batch1": _summary(_latencies(call, _features(1), args.requests), 1),
                "batch32": _summary(_latencies(call, _features(32), args.batch32_requests), 32),
                "concurrent_videos_per_s_batch1": _throughput(call, 1, args.threads, 25),
                "concurrent_videos_per_s_batch32": _throughput(call, 32, args.threads, 3),
            }
        for batch in (1, 32):
            key = f"batch{batch}"
            serialization = _serialization_seconds(in_process, _features(batch))
            grpc_p50 = results["grpc"][key]["p50_ms"] / 1000
            model_p50 = results["in_process"][key]["p50_ms"] / 1000
            results[f"serialization_{key}"] = {
                **{k: v * 1000 if k != "request_mb" else v for k, v in serialization.items()},
                "share_of_grpc_p50": serialization["total"] / grpc_p50,
                "grpc_over_model_p50": grpc_p50 / model_p50,
            }
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(root, ignore_errors=True)
    results["load_average_after"] = os.getloadavg()[0]

    print(f"SavedModel {path}; {results['cpus']} CPUs, load {results['load_average']:.1f}")
    print(f"{'':12} {'batch':>5} {'p50 ms':>9} {'p99 ms':>9} {'videos/s concurrent':>20}")
    for name in ("in_process", "grpc"):
        for batch in (1, 32):
            row = results[name][f"batch{batch}"]
            rate = results[name][f"concurrent_videos_per_s_batch{batch}"]
            print(f"{name:12} {batch:>5} {row['p50_ms']:9.2f} {row['p99_ms']:9.2f} {rate:20.1f}")
    for batch in (1, 32):
        s = results[f"serialization_batch{batch}"]
        print(
            f"batch {batch}: request {s['request_mb']:.2f} MB, serialization {s['total']:.2f} ms "
            f"(client encode {s['client_encode']:.2f}, server decode {s['server_decode']:.2f}, "
            f"server encode {s['server_encode']:.2f}, client decode {s['client_decode']:.2f}) = "
            f"{100 * s['share_of_grpc_p50']:.0f}% of the gRPC p50; gRPC p50 / model p50 = "
            f"{s['grpc_over_model_p50']:.2f}x"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
