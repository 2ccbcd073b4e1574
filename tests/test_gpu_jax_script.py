"""The prepared GPU script (benchmarks/gpu_jax_train.py) runs where only JAX is installed.

`make test-jax` runs it on CPU in the venv without TensorFlow, so the script is known to work
before a GPU machine (JAX, no TensorFlow) is lent for the few minutes it takes there.
"""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "gpu_jax_train.py")


def _script_module():
    spec = importlib.util.spec_from_file_location("gpu_jax_train", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_trains_the_registered_av_att_experiment():
    pytest.importorskip("tensorflow")  # the experiments package needs it; the script does not
    from ave_tf.experiments import get_experiment

    registered = get_experiment("table1/av_att")
    built = _script_module().av_att_experiment()
    assert built.model == registered.model
    assert built.trainer == registered.trainer and built.task == registered.task


def test_script_trains_and_reports_without_tensorflow(tmp_path):
    pytest.importorskip("jax")
    out = tmp_path / "result.json"
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    command = [sys.executable, SCRIPT, "--fraction=0.03", "--epochs=2", "--check_no_tensorflow",
               f"--json={out}"]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["backend"] == "jax" and report["tensorflow_imported"] is False
    assert report["epochs"] == 2 and report["train_seconds_per_epoch"] > 0
    assert 0.0 <= report["test_accuracy_at_best_val"] <= 1.0
    assert report["train_videos"] > 29  # at least one video per class
