"""`ave_export` as a real process on trained-model directories (config.json + best.weights.h5)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from ave_tf.export import serving_config
from ave_tf.export import signatures as sig
from ave_tf.models.config import ModelConfig
from ave_tf.models.cross_modal import CrossModalConfig
from ave_tf.training import model_io

ENV = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}


def _model_dir(path, task: str, config, seed: int) -> str:
    """A model_dir as ave_train leaves it, with freshly initialized (seeded) weights."""
    os.makedirs(path)
    run_config = {"task": task, "model": config.to_dict(), "train": {}, "data": {}}
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(run_config, f)
    tf.keras.utils.set_random_seed(seed)
    model, _, _ = model_io.build_model_from_run_config(run_config, use_cudnn=False)
    model.save_weights(os.path.join(path, "best.weights.h5"))
    return str(path)


def _export(*flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ave_tf.bin.ave_export", *flags],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _serving_default(path: str, features: dict) -> dict:
    loaded = tf.saved_model.load(path)
    outputs = loaded.signatures[sig.SERVING_DEFAULT](
        **{k: tf.constant(v) for k, v in features.items()}
    )
    return {k: v.numpy() for k, v in outputs.items()}


def _features(batch=2, time=10):
    rng = np.random.default_rng(0)
    return {
        "audio": rng.random((batch, time, 128), dtype=np.float32),
        "visual": rng.random((batch, time, 7, 7, 512), dtype=np.float32),
    }


def test_exports_a_trained_model_dir(tmp_path):
    config = ModelConfig(modality="audio", hidden_size=8)
    model_dir = _model_dir(tmp_path / "run", "supervised", config, seed=1)
    base = str(tmp_path / "export" / "ave")
    result = _export(
        f"--model_dir={model_dir}",
        f"--export_base={base}",
        "--version=3",
        "--serving_base_path=/models/ave",
        "--nowarmup",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"wrote {os.path.join(base, '3')}" in result.stdout
    config_file = serving_config.read_models_config(os.path.join(base, "models.config"))
    assert config_file.model_config_list.config[0].base_path == "/models/ave"

    model, task, _ = model_io.load_trained_model(model_dir)
    features = _features()
    got = _serving_default(os.path.join(base, "3"), features)
    logits = model(features, training=False)["logits"]
    np.testing.assert_allclose(got[sig.PROBABILITIES], tf.nn.softmax(logits), atol=1e-5)
    with open(os.path.join(base, "3", "assets.extra", "ave_export.json")) as f:
        info = json.load(f)
    assert info["models"]["supervised"]["config"]["hidden_size"] == 8

    again = _export(f"--model_dir={model_dir}", f"--export_base={base}", "--version=3")
    assert again.returncode == 2
    assert "--version=3" in again.stderr and "--overwrite" in again.stderr


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--export_base=/tmp/x"], "--model_dir is required"),
        (["--model_dir=/nonexistent/run", "--export_base=/tmp/x"], "--model_dir=/nonexistent/run"),
        (["--model_dir=.", "--export_base=/tmp/x", "--version=-2"], "--version must be >= 0"),
    ],
)
def test_bad_flags_exit_non_zero_with_one_line(flags, message):
    result = _export(*flags)
    assert result.returncode == 2
    assert message in result.stderr


def test_refuses_wrong_tasks_before_loading(tmp_path):
    for name, task in (("xm", "cross_modal"), ("sup", "supervised")):
        os.makedirs(tmp_path / name)
        (tmp_path / name / "config.json").write_text(json.dumps({"task": task, "model": {}}))
    result = _export(f"--model_dir={tmp_path / 'xm'}", f"--export_base={tmp_path / 'out'}")
    assert result.returncode == 2
    assert "holds a cross_modal model; expected supervised or weak" in result.stderr
    result = _export(
        f"--model_dir={tmp_path / 'sup'}",
        f"--cross_modal_model_dir={tmp_path / 'sup'}",
        f"--export_base={tmp_path / 'out'}",
    )
    assert "--cross_modal_model_dir" in result.stderr and "expected cross_modal" in result.stderr
    result = _export(f"--model_dir={tmp_path}", f"--export_base={tmp_path / 'out'}")
    assert "params.yaml: not found" in result.stderr
    assert not os.path.exists(tmp_path / "out")


@pytest.mark.slow
def test_exports_default_demo_models_with_weak_and_cross_modal(tmp_path):
    supervised = _model_dir(
        tmp_path / "sup", "supervised", ModelConfig(attention=True, fusion="dmrn"), seed=1
    )
    weak = _model_dir(tmp_path / "weak", "weak", ModelConfig(task="weak", attention=True), seed=2)
    cross_modal = _model_dir(tmp_path / "xm", "cross_modal", CrossModalConfig(), seed=3)
    base = str(tmp_path / "export")
    result = _export(
        f"--model_dir={supervised}",
        f"--weak_model_dir={weak}",
        f"--cross_modal_model_dir={cross_modal}",
        f"--export_base={base}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = tf.saved_model.load(os.path.join(base, "1"))
    assert set(loaded.signatures) >= {sig.WEAK, sig.DISTANCE, sig.LOCALIZE_A2V}
    model, _, _ = model_io.load_trained_model(supervised)
    features = _features()
    got = _serving_default(os.path.join(base, "1"), features)
    outputs = model(features, training=False)
    np.testing.assert_allclose(got[sig.PROBABILITIES], tf.nn.softmax(outputs["logits"]), atol=1e-5)
    np.testing.assert_allclose(got[sig.ATTENTION], outputs["attention"], atol=1e-6)
