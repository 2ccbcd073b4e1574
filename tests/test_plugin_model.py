"""A new model and its experiment in ONE module outside ave_tf: trained, evaluated, exported.

The module is registered by import only: a --config_file names it in `imports` (and the
experiment it defines); params.yaml keeps that, so ave_eval and ave_export rebuild the model.
No ave_tf file knows the model.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.binaries import run_binary
from tests.tiny_dataset import write_tiny_dataset

TOY_MODULE = '''
"""A toy localization model: per-segment MLP on audio + averaged visual features."""

import dataclasses

import keras

from ave_tf.experiments import register_experiment
from ave_tf.models.registry import register_model
from ave_tf.training.experiment_config import ExperimentConfig, TrainerConfig


@dataclasses.dataclass
class ToyConfig:
    width: int = 8
    num_classes: int = 29

    def validate(self):
        if self.width < 1:
            raise ValueError(f"ToyConfig.width must be >= 1, got {self.width}")
        return self


@register_model("toy_segment_mlp", ToyConfig)
def build_toy(config, use_cudnn="auto"):
    audio = keras.Input((None, 128), name="audio")
    visual = keras.Input((None, 7, 7, 512), name="visual")
    pooled = keras.layers.Lambda(lambda v: keras.ops.mean(v, axis=(2, 3)))(visual)
    hidden = keras.layers.Dense(config.width, activation="relu")(
        keras.layers.Concatenate()([audio, pooled])
    )
    logits = keras.layers.Dense(config.num_classes, name="logits")(hidden)
    uniform = keras.layers.Lambda(lambda v: keras.ops.ones_like(v[..., 0]) / 49.0)(visual)
    attention = keras.layers.Reshape((-1, 49), name="attention")(uniform)
    return keras.Model(
        {"audio": audio, "visual": visual}, {"logits": logits, "attention": attention}, name="toy"
    )


@register_experiment("toy/segment_mlp")
def toy_experiment():
    return ExperimentConfig(
        model=ToyConfig(width=16), trainer=TrainerConfig(epochs=2, batch_size=8)
    )
'''


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    root = tmp_path_factory.mktemp("plugin")
    (root / "toy_lab_model.py").write_text(textwrap.dedent(TOY_MODULE))
    config = root / "toy.yaml"
    config.write_text("imports: [toy_lab_model]\nexperiment: toy/segment_mlp\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), os.getcwd()]))
    return {"config": str(config), "env": env, "data": write_tiny_dataset(str(root / "data"))}


def _run(plugin, module, *args):
    return run_binary(module, *args, env=plugin["env"])


def test_a_model_defined_in_one_module_trains_evaluates_and_exports(plugin, tmp_path):
    model_dir = tmp_path / "toy"
    trained = _run(
        plugin, "ave_train", f"--data_dir={plugin['data']}", f"--model_dir={model_dir}",
        f"--config_file={plugin['config']}", "--params_override=model.width=12", "--noprogress",
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "Trained toy/segment_mlp for 2 epoch(s)" in trained.stdout
    params = (model_dir / "params.yaml").read_text()
    assert "name: toy_segment_mlp" in params and "width: 12" in params
    assert "- toy_lab_model" in params

    output = tmp_path / "eval.json"
    evaluated = _run(plugin, "ave_eval", f"--model_dir={model_dir}", f"--output={output}")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    result = json.loads(output.read_text())
    assert result["experiment"] == "toy/segment_mlp" and 0.0 <= result["accuracy"] <= 1.0

    base = tmp_path / "export"
    exported = _run(
        plugin, "ave_export", f"--model_dir={model_dir}", f"--export_base={base}", "--nowarmup"
    )
    assert exported.returncode == 0, exported.stderr[-3000:]
    # The SavedModel runs in a process that has never heard of ave_tf or the toy module.
    check = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(f"""
            import numpy as np, sys, tensorflow as tf
            loaded = tf.saved_model.load({str(base / "1")!r})
            out = loaded.signatures["serving_default"](
                audio=tf.zeros([2, 5, 128]), visual=tf.ones([2, 5, 7, 7, 512]))
            assert "ave_tf" not in sys.modules and "toy_lab_model" not in sys.modules
            print(out["probabilities"].shape, out["classes"].shape)
        """)],
        capture_output=True, text=True, timeout=300, env=dict(os.environ),
    )  # fmt: skip
    assert check.returncode == 0, check.stderr[-3000:]
    assert "(2, 5, 29) (2, 5)" in check.stdout


def test_without_the_import_the_model_is_a_one_line_error(plugin, tmp_path):
    model_dir = tmp_path / "toy"
    result = _run(
        plugin, "ave_train", f"--data_dir={plugin['data']}", f"--model_dir={model_dir}",
        "--experiment=toy/segment_mlp",
    )  # fmt: skip
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert "unknown experiment 'toy/segment_mlp' (known: authors_a" in last
    assert np.all([not model_dir.exists()])
