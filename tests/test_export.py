"""The exported SavedModel: every signature equals the in-memory models, in this process and in a
fresh one that never imports ave_tf; no op lacks a CPU kernel."""

import os
import pickle
import re
import subprocess
import sys
import textwrap

import export_fixtures as fx
import numpy as np
import pytest
import tensorflow as tf

from ave_tf.export import graph_check
from ave_tf.export import signatures as sig
from ave_tf.export.exporter import ExportError, export_saved_model

ALL_SIGNATURES = {
    sig.SERVING_DEFAULT,
    sig.SUPERVISED,
    sig.WEAK,
    sig.PARSE_AND_PREDICT,
    sig.CLASSIFY,
    sig.DISTANCE,
    sig.LOCALIZE_A2V,
    sig.LOCALIZE_V2A,
}


@pytest.fixture(scope="module")
def exported():
    return fx.shared_export()


@pytest.fixture(scope="module")
def loaded(exported):
    return tf.saved_model.load(exported["path"])


@pytest.fixture(scope="module")
def cases(exported) -> dict[str, tuple[dict, dict]]:
    return fx.signature_cases(exported)


def _call(loaded, name: str, inputs: dict) -> dict[str, np.ndarray]:
    outputs = loaded.signatures[name](**{k: tf.constant(v) for k, v in inputs.items()})
    return {k: v.numpy() for k, v in outputs.items()}


def test_signatures_inputs_and_methods(exported):
    proto = graph_check.read_saved_model_proto(exported["path"])
    defs = {k: v for k, v in proto.meta_graphs[0].signature_def.items() if not k.startswith("__")}
    assert set(defs) == ALL_SIGNATURES
    for name in (sig.SERVING_DEFAULT, sig.WEAK, sig.DISTANCE):
        inputs = defs[name].inputs
        assert sorted(inputs) == [sig.AUDIO, sig.VISUAL]
        assert [d.size for d in inputs[sig.AUDIO].tensor_shape.dim] == [-1, -1, 128]
        assert [d.size for d in inputs[sig.VISUAL].tensor_shape.dim] == [-1, -1, 7, 7, 512]
    assert sorted(defs[sig.PARSE_AND_PREDICT].inputs) == [sig.SERIALIZED]
    assert sorted(defs[sig.LOCALIZE_A2V].inputs) == sorted(
        [sig.AUDIO, sig.VISUAL, sig.QUERY_START, sig.QUERY_LENGTH]
    )
    assert defs[sig.CLASSIFY].method_name == sig.CLASSIFY_METHOD
    assert defs[sig.SUPERVISED].method_name == sig.PREDICT_METHOD


@pytest.mark.parametrize("name", sorted(ALL_SIGNATURES))
def test_signature_equals_in_memory_model(loaded, cases, name):
    inputs, expected = cases[name]
    fx.assert_outputs_equal(name, _call(loaded, name, inputs), expected)


def test_parse_and_predict_same_length_batch_and_float16_records(exported, loaded):
    videos = fx.videos([10, 10], seed=4)
    serialized = np.array(fx.records(videos, visual_dtype="float16"), dtype=object)
    rounded = [(a, v.astype(np.float16).astype(np.float32)) for a, v in videos]
    got = _call(loaded, sig.PARSE_AND_PREDICT, {sig.SERIALIZED: serialized})
    fx.assert_outputs_equal("parse", got, fx.parse_and_predict(exported["supervised"], rounded))


def test_variable_time_and_batch(exported, loaded):
    for batch, time in ((1, 1), (2, 3), (5, 10)):
        x = fx.random_features(batch, time, seed=time)
        got = _call(loaded, sig.SUPERVISED, x)
        fx.assert_outputs_equal(
            "supervised", got, fx.supervised(exported["supervised"], x["audio"], x["visual"])
        )


@pytest.mark.parametrize(
    "name, inputs, message",
    [
        (sig.SUPERVISED, {"audio": (2, 5), "visual": (2, 4)}, "same batch size and number"),
        (sig.WEAK, {"audio": (1, 0), "visual": (1, 0)}, "at least one segment"),
        (sig.LOCALIZE_A2V, {"query_start": [8], "query_length": [3]}, "inside [0, T)"),
        (sig.LOCALIZE_V2A, {"query_start": [0], "query_length": [0]}, "query_length must be >= 1"),
    ],
)
def test_bad_inputs_fail_inside_the_graph(loaded, name, inputs, message):
    features = fx.random_features(1, 10)
    call = {"audio": features["audio"], "visual": features["visual"]}
    for key, value in inputs.items():
        if key in ("audio", "visual"):
            batch, time = value
            call[key] = fx.random_features(batch, time)[key]
        else:
            call[key] = np.array(value, np.int64)
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(message)):
        _call(loaded, name, call)


def test_graph_has_only_cpu_ops(exported):
    assert graph_check.find_cpu_incompatible_ops(exported["path"]) == []


def test_graph_check_flags_gpu_only_op(tmp_path):
    def add_params_size(x):
        size = tf.raw_ops.CudnnRNNParamsSize(
            num_layers=1, num_units=4, input_size=4, T=tf.float32, S=tf.int32
        )
        return x + tf.cast(size, x.dtype)

    module = tf.Module()
    module.f = tf.function(add_params_size, input_signature=[tf.TensorSpec([None], tf.float32)])
    tf.saved_model.save(module, str(tmp_path), signatures=module.f)
    found = graph_check.find_cpu_incompatible_ops(str(tmp_path))
    assert [op.op for op in found] == ["CudnnRNNParamsSize"]
    assert "CudnnRNNParamsSize" in str(found[0])


def test_export_refuses_gpu_only_graph_and_leaves_nothing(tmp_path):
    base = str(tmp_path / "ave")
    with pytest.raises(ExportError, match="CudnnRNNParamsSize.*use_cudnn=False"):
        export_saved_model(base, fx.build_gpu_only_fixture(), write_warmup=False)
    assert os.listdir(base) == []


def test_model_built_for_cudnn_exports_a_cpu_graph(tmp_path):
    model = fx.build_localization_fixture(use_cudnn=True, seed=5)  # cannot even run on a CPU
    with pytest.raises(ValueError, match="use_cudnn=True"):
        model(fx.random_features(1, 2))
    path = export_saved_model(str(tmp_path), model, write_warmup=False)
    assert graph_check.find_cpu_incompatible_ops(path) == []
    lstm = [layer for layer in model.layers if hasattr(layer, "use_cudnn")][0]
    assert lstm.use_cudnn is True  # restored
    lstm.use_cudnn = "auto"
    x = fx.random_features(2, 4, seed=6)
    got = _call(tf.saved_model.load(path), sig.SUPERVISED, x)
    fx.assert_outputs_equal("supervised", got, fx.supervised(model, x["audio"], x["visual"]))


_FRESH_PROCESS = textwrap.dedent(
    """
    import pickle, sys

    class NoAveTf:  # proves the SavedModel needs nothing from ave_tf
        def find_spec(self, name, path=None, target=None):
            if name == "ave_tf" or name.startswith("ave_tf."):
                raise ImportError("ave_tf must not be imported")

    sys.meta_path.insert(0, NoAveTf())
    import numpy as np
    import tensorflow as tf

    path, cases_file, out_file = sys.argv[1:]
    with open(cases_file, "rb") as f:
        cases = pickle.load(f)
    loaded = tf.saved_model.load(path)
    results = {}
    for name, inputs in cases.items():
        outputs = loaded.signatures[name](**{k: tf.constant(v) for k, v in inputs.items()})
        results[name] = {k: v.numpy() for k, v in outputs.items()}
    assert not [m for m in sys.modules if m.split(".")[0] == "ave_tf"]
    assert not tf.config.list_physical_devices("GPU")
    with open(out_file, "wb") as f:
        pickle.dump(results, f)
    """
)


def test_fresh_process_without_ave_tf_gives_the_same_outputs(exported, cases, tmp_path):
    cases_file, out_file = tmp_path / "cases.pkl", tmp_path / "out.pkl"
    with open(cases_file, "wb") as f:
        pickle.dump({name: inputs for name, (inputs, _) in cases.items()}, f)
    script = tmp_path / "load_saved_model.py"
    script.write_text(_FRESH_PROCESS)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [sys.executable, "-I", str(script), exported["path"], str(cases_file), str(out_file)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out_file, "rb") as f:
        results = pickle.load(f)
    assert set(results) == ALL_SIGNATURES
    for name, (_, expected) in cases.items():
        fx.assert_outputs_equal(name, results[name], expected)
