"""Serving test servers: `ave_serve` (and `tensorflow_model_server` where it is on PATH) on
loopback with gRPC and the REST API, shared by the gRPC and REST tests (fixtures in conftest)."""

import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from ave_tf.serving.client import ServingClient, ServingError

ENV = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
START_TIMEOUT = 300
SERVERS = ["ave_serve", "tensorflow_model_server"]
MODELS_CONFIG = """\
model_config_list {{
  config {{ name: "ave" base_path: "{ave}" model_platform: "tensorflow"
           version_labels {{ key: "stable" value: 1 }} }}
  config {{ name: "ave_swap" base_path: "{swap}" model_platform: "tensorflow" }}
}}
"""


class Server:
    """A server process on loopback; `kind` says which implementation."""

    def __init__(
        self, kind: str, process: subprocess.Popen, address: str, rest_port: int, swap_base: str
    ):
        self.kind = kind
        self.process = process
        self.address = address
        self.rest_url = f"http://127.0.0.1:{rest_port}"
        self.swap_base = swap_base
        self.client = ServingClient(address, timeout=120, retries=0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(kind: str, config_file: str, log) -> tuple[subprocess.Popen, str, int]:
    rest_port = _free_port()
    if kind == "ave_serve":
        command = [
            sys.executable,
            "-m",
            "ave_tf.bin.ave_serve",
            f"--model_config_file={config_file}",
            "--host=127.0.0.1",
            "--port=0",
            f"--rest_api_port={rest_port}",
            "--file_system_poll_wait_seconds=0.5",
        ]
        process = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=log, text=True)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in process.stdout], daemon=True).start()
        try:
            # "ave_serve: serving ... (REST API on port R); listening on HOST:PORT"
            line = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            line = ""
        if "listening on" not in line:
            process.kill()
            raise RuntimeError(f"ave_serve did not start (printed {line!r}); see its log")
        assert int(re.search(r"REST API on port (\d+)", line).group(1)) == rest_port
        return process, line.strip().rsplit(" ", 1)[-1], rest_port
    port = _free_port()
    command = [
        kind,
        f"--port={port}",
        f"--rest_api_port={rest_port}",
        f"--model_config_file={config_file}",
        "--file_system_poll_wait_seconds=1",
        "--enable_model_warmup=true",
    ]
    process = subprocess.Popen(command, stdout=log, stderr=log)
    return process, f"127.0.0.1:{port}", rest_port


def _wait_available(client: ServingClient, model: str, version: int, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            statuses = client.model_status(model, timeout=5).model_version_status
            if any(s.version == version and s.state == s.AVAILABLE for s in statuses):
                return
        except ServingError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{model} version {version} not AVAILABLE after {timeout} s")


def serve(kind: str, exported, tmp_path_factory):
    """Starts a server of `kind`, yields it once both models are AVAILABLE, stops it."""
    if kind != "ave_serve" and shutil.which(kind) is None:
        pytest.skip(f"{kind} is not on PATH; these tests ran against ave_serve only")
    root = tmp_path_factory.mktemp(kind)
    swap_base = str(root / "swap")
    shutil.copytree(exported["path"], os.path.join(swap_base, "1"))
    config_file = root / "models.config"
    config_file.write_text(MODELS_CONFIG.format(ave=exported["base"], swap=swap_base))
    log_path = root / "server.log"
    with open(log_path, "w") as log:
        process, address, rest_port = _start(kind, str(config_file), log)
    server = Server(kind, process, address, rest_port, swap_base)
    try:
        _wait_available(server.client, "ave", 1)
        _wait_available(server.client, "ave_swap", 1)
    except AssertionError:
        process.kill()
        raise AssertionError(log_path.read_text()[-3000:]) from None
    yield server
    server.client.close()
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=60)
    if kind == "ave_serve":
        assert code == 0, log_path.read_text()[-3000:]  # graceful shutdown on SIGTERM
