"""`make demo`: the whole product on the embedded default, end to end, through the real binaries.

synthetic dataset -> ave_train (A+V-att, DMRN late fusion) -> ave_eval -> ave_export ->
ave_serve on loopback -> ave_query over gRPC -> a short results table. Every step is
idempotent: existing data is reused, training resumes (a finished run trains 0 epochs),
the export replaces version 1 atomically.
"""

import glob
import json
import os
import signal
import subprocess
import sys
import time

from absl import flags

from ave_tf.utils.cli import fail, run_main
from ave_tf.utils.metric_values import format_metric, format_percent

FLAGS = flags.FLAGS

PAPER_LATE_DMRN = 73.1  # Table 2, late fusion, DMRN


def define_flags() -> None:
    flags.DEFINE_string("data_dir", "tfrecords/ave_synthetic", "Embedded default dataset dir.")
    flags.DEFINE_string("model_dir", "runs/demo", "Model dir of the demo model.")
    flags.DEFINE_string("export_base", "export/ave", "TF-Serving model base path.")
    flags.DEFINE_integer("epochs", 15, "Training epochs.")
    flags.DEFINE_integer("seed", 0, "Seed of the data and the training run.")
    flags.DEFINE_integer("server_timeout", 120, "Seconds to wait for the server to come up.")


def _script(name: str) -> str:
    path = os.path.join(os.path.dirname(sys.executable), name)
    return path if os.path.exists(path) else name


def step(title: str, command: list[str]) -> float:
    print(f"\n==> {title}\n    $ {' '.join(command)}", flush=True)
    start = time.time()
    completed = subprocess.run(command)
    if completed.returncode != 0:
        fail(f"demo step '{title}' failed (exit {completed.returncode})")
    return time.time() - start


def _start_server() -> tuple[subprocess.Popen, int]:
    command = [
        _script("ave_serve"),
        f"--model_base_path={os.path.abspath(FLAGS.export_base)}",
        "--host=127.0.0.1",
        "--port=0",
        "--model_name=ave",
    ]
    print(f"\n==> serve on loopback\n    $ {' '.join(command)}", flush=True)
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    deadline = time.time() + FLAGS.server_timeout
    while time.time() < deadline:
        line = server.stdout.readline()
        if not line:
            if server.poll() is not None:
                fail(f"ave_serve exited with {server.returncode} before serving")
            continue
        print("    " + line.rstrip(), flush=True)
        if "port" in line.lower() and "serving" in line.lower():
            digits = "".join(c if c.isdigit() else " " for c in line.split("port", 1)[1]).split()
            if digits:
                return server, int(digits[0])
    server.kill()
    fail(f"ave_serve did not report its port within {FLAGS.server_timeout}s")
    raise AssertionError


def stale_synthetic_dataset(data_dir: str, seed: int) -> str | None:
    """Why an existing ave_synth dataset must be regenerated (older generator, other seed).

    Datasets that ave_synth did not write (converted or extracted ones) are never stale.
    """
    from ave_tf.data.synthetic_config import GENERATOR_VERSION

    path = os.path.join(data_dir, "dataset.json")
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            extra = json.load(f).get("extra") or {}
    except (OSError, ValueError) as e:
        fail(f"{path}: unreadable: {e}")
    if extra.get("generator") != "ave_synth":
        return None
    version = extra.get("generator_version")
    if version != GENERATOR_VERSION:
        return f"made by ave_synth generator version {version}, this is version {GENERATOR_VERSION}"
    made_with = (extra.get("config") or {}).get("seed")
    if made_with is not None and made_with != seed:
        return f"made with --seed={made_with}, the demo asks for --seed={seed}"
    return None


def main(argv):
    del argv
    timings = {}
    stale = stale_synthetic_dataset(FLAGS.data_dir, FLAGS.seed)
    if os.path.exists(os.path.join(FLAGS.data_dir, "dataset.json")) and not stale:
        print(f"==> reusing the dataset in {FLAGS.data_dir}")
    else:
        if stale:
            print(f"==> {FLAGS.data_dir}: {stale}; rebuilding it")
        timings["synth"] = step(
            "build the embedded default dataset (synthetic features, real AVE labels)",
            [_script("ave_synth"), f"--output_dir={FLAGS.data_dir}", f"--seed={FLAGS.seed}"]
            + (["--overwrite"] if stale else []),
        )
    timings["train"] = step(
        "train A+V-att with DMRN late fusion",
        [
            _script("ave_train"),
            f"--data_dir={FLAGS.data_dir}",
            f"--model_dir={FLAGS.model_dir}",
            "--experiment=table2/late/dmrn",
            f"--epochs={FLAGS.epochs}",
            f"--seed={FLAGS.seed}",
        ],
    )
    eval_json = os.path.join(FLAGS.model_dir, "eval_test.json")
    timings["eval"] = step(
        "evaluate on the test split",
        [
            _script("ave_eval"),
            f"--data_dir={FLAGS.data_dir}",
            f"--model_dir={FLAGS.model_dir}",
            "--split=test",
            f"--output={eval_json}",
            f"--plots_dir={os.path.join(FLAGS.model_dir, 'plots')}",
            "--num_plots=4",
        ],
    )
    timings["export"] = step(
        "export a SavedModel for TF Serving",
        [
            _script("ave_export"),
            f"--model_dir={FLAGS.model_dir}",
            f"--export_base={FLAGS.export_base}",
            "--version=1",
            "--overwrite",
        ],
    )
    server, port = _start_server()
    try:
        test_shard = sorted(glob.glob(os.path.join(FLAGS.data_dir, "test-*.tfrecord")))[0]
        timings["query"] = step(
            "query the server over gRPC",
            [
                _script("ave_query"),
                f"--server=localhost:{port}",
                f"--input={test_shard}",
                "--max_videos=2",
            ],
        )
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    with open(eval_json, encoding="utf-8") as f:
        result = json.load(f)
    ebg = result.get("event_vs_background", {})
    print("\n==> results (embedded default: SYNTHETIC features on the real AVE labels)")
    print("| model | test accuracy | paper (real AVE) | event P / R |")
    print("|---|---|---|---|")
    print(
        f"| A+V-att, DMRN late fusion | {format_percent(result.get('accuracy'))} | "
        f"{PAPER_LATE_DMRN} | {format_metric(ebg.get('precision'), 3)} / "
        f"{format_metric(ebg.get('recall'), 3)} |"
    )
    print("seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))


def run():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
