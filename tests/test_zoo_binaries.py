"""Every zoo model through every binary, each its own process: ave_train, ave_eval (accuracy and
per class), ave_export (supervised with the model's extra outputs, weak for the weak variant),
ave_serve, a gRPC client that never imports ave_tf, ave_query and ave_localize (a generated
video through the served model).

PSP runs in `make test`; CMBS and CACE-Net (small widths) in `make test-slow`.
"""

import json
import os
import subprocess
import sys

import pytest
from serving_servers import ENV
from video_fixtures import write_video

from tests.tiny_dataset import write_tiny_dataset

SMALL = (
    "model.d_model=16,model.visual_fc_units=16,model.attention_hidden_units=8,"
    "model.encoder_feedforward_units=16,model.decoder_feedforward_units=16"
)
# (supervised experiment, weak experiment or None, model overrides, extra supervised outputs)
ZOO = [
    pytest.param("psp", "psp_weak", "", (), id="psp"),
    pytest.param("cmbs", "cmbs_weak", SMALL, ("event_scores",), marks=pytest.mark.slow, id="cmbs"),
    pytest.param("cace_net", None, SMALL, ("event_scores",), marks=pytest.mark.slow, id="cace"),
]

# Runs with `python -I` (no cwd on sys.path): what a client that only has the TF Serving API
# sees. It prints {signature: {output: shape}} and fails if anything imported ave_tf.
CLIENT = """
import json, sys
import grpc, numpy as np, tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc
stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(sys.argv[1]))
rng = np.random.default_rng(0)
inputs = {"audio": rng.random((2, 10, 128), np.float32),
          "visual": rng.random((2, 10, 7, 7, 512), np.float32)}
shapes = {}
for signature in sys.argv[2:]:
    request = predict_pb2.PredictRequest()
    request.model_spec.name, request.model_spec.signature_name = "ave", signature
    for key, value in inputs.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    reply = stub.Predict(request, timeout=120)
    outputs = {k: tf.make_ndarray(v) for k, v in reply.outputs.items()}
    assert all(np.isfinite(v).all() for v in outputs.values() if v.dtype.kind == "f"), signature
    shapes[signature] = {k: list(v.shape) for k, v in outputs.items()}
assert not [m for m in sys.modules if m.startswith("ave_tf")], "the client imported ave_tf"
print(json.dumps(shapes))
"""


def _run(module: str, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", f"ave_tf.bin.{module}", *args],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{module}: {result.stderr[-3000:]}"
    return result


def _train(data_dir: str, model_dir: str, experiment: str, overrides: str) -> None:
    trainer = "trainer.epochs=1,trainer.batch_size=16"
    _run(
        "ave_train",
        f"--data_dir={data_dir}",
        f"--model_dir={model_dir}",
        f"--experiment={experiment}",
        f"--params_override={trainer + (',' + overrides if overrides else '')}",
    )


def _serve(export_base: str) -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen(
        [
            sys.executable, "-m", "ave_tf.bin.ave_serve", f"--model_base_path={export_base}",
            "--port=0", "--host=127.0.0.1",
        ],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    for line in server.stdout:
        if "listening on" in line:
            return server, line.strip().rsplit(" ", 1)[-1]
    server.kill()
    raise AssertionError("ave_serve did not start")


@pytest.mark.parametrize("supervised,weak,overrides,extra_outputs", ZOO)
def test_zoo_model_through_every_binary(tmp_path, supervised, weak, overrides, extra_outputs):
    data_dir = write_tiny_dataset(str(tmp_path / "data"))
    model_dir = str(tmp_path / supervised)
    _train(data_dir, model_dir, supervised, overrides)
    if weak:
        _train(data_dir, str(tmp_path / weak), weak, overrides)

    _run("ave_eval", f"--model_dir={model_dir}", f"--output={tmp_path / 'eval.json'}")
    metrics = json.loads((tmp_path / "eval.json").read_text())
    assert metrics["experiment"] == supervised and 0.0 <= metrics["accuracy"] <= 1.0
    assert len(metrics["per_class"]) == len(metrics["class_names"]) == 29

    export_base = str(tmp_path / "export")
    weak_flags = [f"--weak_model_dir={tmp_path / weak}"] if weak else []
    _run("ave_export", f"--model_dir={model_dir}", f"--export_base={export_base}", *weak_flags)
    assert os.path.isfile(os.path.join(export_base, "1", "saved_model.pb"))

    server, address = _serve(export_base)
    try:
        signatures = ["supervised", "serving_default"] + (["weak"] if weak else [])
        client = subprocess.run(
            [sys.executable, "-I", "-c", CLIENT, address, *signatures],
            env=ENV, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert client.returncode == 0, client.stderr[-3000:]
        shapes = json.loads(client.stdout.strip().splitlines()[-1])
        for signature in ("supervised", "serving_default"):
            assert shapes[signature]["probabilities"] == [2, 10, 29]
            assert shapes[signature]["attention"] == [2, 10, 49]
        for name in extra_outputs:
            assert shapes["supervised"][name] == [2, 10]
        if weak:
            assert shapes["weak"]["segment_scores"] == [2, 10, 29]
            assert shapes["weak"]["video_probabilities"] == [2, 29]

        shard = sorted(p for p in os.listdir(data_dir) if p.startswith("test"))[0]
        query = _run(
            "ave_query",
            f"--server={address}",
            f"--input={os.path.join(data_dir, shard)}",
            f"--output_json={tmp_path / 'timelines.json'}",
            "--max_videos=3",
        )
        timelines = json.loads((tmp_path / "timelines.json").read_text())
        assert len(timelines["videos"]) == 3
        assert all(v["video_id"] in query.stdout for v in timelines["videos"])

        video = write_video(str(tmp_path / "clip.mp4"), duration=2.0)
        out = tmp_path / "localized"
        _run(
            "ave_localize", video, f"--server={address}", f"--out={out}", "--random_weights",
            "--frames_per_second=1",
        )  # fmt: skip
        timeline = json.loads((out / "timeline.json").read_text())
        assert timeline["num_segments"] == 2 and len(timeline["probabilities"]) == 2
        assert (out / "timeline.png").stat().st_size > 0
    finally:
        server.terminate()
        server.wait(timeout=30)
