"""MultiWorkerMirroredStrategy: two local CPU workers (TF_CONFIG) train as one worker does.

Both workers read the whole split in the same seeded order and each keeps its half of every
global batch (DATA sharding), and the loss is a mean over the global batch; so two workers run
the same steps as one and differ only in the order of float additions in the all-reduce
(~1e-7 relative, measured). The tolerance, 1e-4 relative, leaves room for that on other CPUs
yet fails when workers see other records (auto-sharding by file moved the validation loss by
0.5%) or the loss is not scaled to the global batch (the train loss doubles).
"""

import json
import os
import socket
import subprocess
import sys

import pytest

from tests.tiny_dataset import write_tiny_dataset

TRAIN_FLAGS = ["--hidden_size=16", "--batch_size=8", "--progress=false", "--shuffle_buffer=16"]
COMPARED = [("train", "loss"), ("train", "accuracy"), ("val", "loss"), ("val", "accuracy")]
TIMEOUT = 240  # a worker waits forever for a peer that died: never let the test hang


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_tiny_dataset(str(tmp_path_factory.mktemp("tiny")))


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _start(data_dir, model_dir, epochs, tf_config=None, tmp_dir=None):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    if tmp_dir:  # where worker 1 writes its throwaway copy of the run
        env["TMPDIR"] = tmp_dir
    flags = [f"--data_dir={data_dir}", f"--model_dir={model_dir}", f"--epochs={epochs}"]
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
        flags.append("--strategy=multi_worker")
    return subprocess.Popen(
        [sys.executable, "-m", "ave_tf.bin.ave_train", *flags, *TRAIN_FLAGS],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _start_workers(data_dir, model_dir, epochs, tmp_dir, count=2):
    cluster = {"worker": [f"localhost:{port}" for port in _free_ports(count)]}
    configs = [{"cluster": cluster, "task": {"type": "worker", "index": i}} for i in range(count)]
    return [_start(data_dir, model_dir, epochs, config, tmp_dir) for config in configs]


def _wait(processes):
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=TIMEOUT)[0])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output[-3000:]
    return outputs


def _metrics(model_dir):
    with open(os.path.join(model_dir, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f]


def test_two_workers_match_one_worker_and_resume_from_the_chief(data_dir, tmp_path):
    one, two = str(tmp_path / "one_worker"), str(tmp_path / "two_workers")
    tmp_dir = tmp_path / "tmp"
    tmp_dir.mkdir()
    # The reference and the first epoch of the two workers run side by side.
    reference = _start(data_dir, one, epochs=2)
    _wait([*_start_workers(data_dir, two, 1, str(tmp_dir)), reference])
    # Raising --epochs resumes: worker 1 restores the chief's checkpoint, or the steps diverge.
    outputs = _wait(_start_workers(data_dir, two, 2, str(tmp_dir)))
    assert "Resuming from" in outputs[0] and "Resuming from" in outputs[1]

    expected, got = _metrics(one), _metrics(two)
    assert [m["epoch"] for m in got] == [m["epoch"] for m in expected] == [1, 2]
    for want, have in zip(expected, got, strict=True):
        for section, name in COMPARED:
            assert have[section][name] == pytest.approx(want[section][name], rel=1e-4), (
                f"epoch {want['epoch']} {section} {name}"
            )
    # Only the chief wrote model_dir: one TensorBoard file per run (the first and the resumed);
    # worker 1's copies went to a temporary directory, removed when it finished.
    assert len(os.listdir(os.path.join(two, "train"))) == 2
    assert not [p for p in os.listdir(two) if p.startswith(".tmp-")]
    assert not os.listdir(tmp_dir)
