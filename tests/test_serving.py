"""gRPC serving end to end on loopback: a real server process, the real TF-Serving protos.

Runs against `ave_serve`, and against `tensorflow_model_server` too where it is on PATH (the
same export, the same requests). Covers every signature, Classify, GetModelMetadata,
GetModelStatus, bad requests, a hot swap of versions, concurrent clients and `ave_query`.
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent import futures

import export_fixtures as fx
import grpc
import numpy as np
import pytest
from serving_servers import ENV, Server, _free_port, _wait_available
from tensorflow_serving.apis import classification_pb2, get_model_metadata_pb2

from ave_tf.export import signatures as sig
from ave_tf.export import versions
from ave_tf.serving.client import ServingClient, ServingError, predict_serialized
from ave_tf.serving.timeline import event_timeline


@pytest.fixture(scope="module")
def exported(serving_export):
    return serving_export


@pytest.fixture(scope="module")
def cases(exported):
    return fx.signature_cases(exported)


def _predict_response(server: Server, inputs: dict, signature: str, model="ave", **kwargs):
    request = server.client.predict_request(inputs, model, signature, **kwargs)
    return server.client.predict_response(request)


def _outputs(response) -> dict:
    from ave_tf.serving.tensor_codec import to_ndarray

    return {key: to_ndarray(value) for key, value in response.outputs.items()}


PREDICT_SIGNATURES = sorted(
    {
        sig.SERVING_DEFAULT,
        sig.SUPERVISED,
        sig.WEAK,
        sig.PARSE_AND_PREDICT,
        sig.DISTANCE,
        sig.LOCALIZE_A2V,
        sig.LOCALIZE_V2A,
    }
)


@pytest.mark.parametrize("signature", PREDICT_SIGNATURES)
def test_predict_every_signature(server, cases, signature):
    inputs, expected = cases[signature]
    response = _predict_response(server, inputs, signature)
    assert response.model_spec.name == "ave"
    assert response.model_spec.version.value == 1
    assert response.model_spec.signature_name == signature
    fx.assert_outputs_equal(signature, _outputs(response), expected)


def test_predict_serialized_records_as_is_and_by_version_label(server, cases):
    inputs, expected = cases[sig.PARSE_AND_PREDICT]
    got = predict_serialized(server.address, list(inputs[sig.SERIALIZED]), timeout=120)
    fx.assert_outputs_equal("parse_and_predict", got, expected)
    request = server.client.predict_request(*cases[sig.WEAK][:1], signature_name=sig.WEAK)
    request.model_spec.version_label = "stable"
    fx.assert_outputs_equal(
        "weak", _outputs(server.client.predict_response(request)), cases[sig.WEAK][1]
    )


def test_classify(server, cases):
    inputs, expected = cases[sig.CLASSIFY]
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = "ave"
    request.model_spec.signature_name = sig.CLASSIFY
    for serialized in inputs[sig.CLASSIFY_INPUTS]:
        request.input.example_list.examples.add().ParseFromString(serialized)
    response = server.client.classify(request)
    results = response.result.classifications
    assert len(results) == len(expected[sig.SCORES])
    for result, scores, labels in zip(
        results, expected[sig.SCORES], expected[sig.CLASSES], strict=True
    ):
        np.testing.assert_allclose([c.score for c in result.classes], scores, atol=1e-5)
        assert [c.label.encode() for c in result.classes] == list(labels)
    request.model_spec.signature_name = sig.SERVING_DEFAULT
    with pytest.raises(ServingError) as raised:
        server.client.classify(request)
    assert raised.value.code in (
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
    )


def test_model_metadata(server):
    response = server.client.model_metadata("ave")
    assert response.model_spec.name == "ave" and response.model_spec.version.value == 1
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signature_map)
    defs = signature_map.signature_def
    assert set(PREDICT_SIGNATURES) | {sig.CLASSIFY} <= set(defs)
    audio = defs[sig.SERVING_DEFAULT].inputs[sig.AUDIO]
    assert [d.size for d in audio.tensor_shape.dim] == [-1, -1, 128]
    assert defs[sig.CLASSIFY].method_name == sig.CLASSIFY_METHOD


def test_model_status(server):
    (status,) = server.client.model_status("ave").model_version_status
    assert (status.version, status.state) == (1, status.AVAILABLE)
    assert status.status.error_code == 0
    for model, version in (("nope", None), ("ave", 42)):
        with pytest.raises(ServingError) as raised:
            server.client.model_status(model, version)
        assert raised.value.code == grpc.StatusCode.NOT_FOUND


def _bad_requests(cases):
    x = fx.random_features(2, 10)
    localize_inputs = cases[sig.LOCALIZE_A2V][0]
    return {
        "unknown model": (dict(model="nope"), x, sig.SERVING_DEFAULT, "NOT_FOUND", "nope"),
        "unknown version": (dict(version=9), x, sig.SERVING_DEFAULT, "NOT_FOUND", "9"),
        "unknown signature": ({}, x, "nope", "NOT_FOUND", "signature 'nope' not found"),
        "unknown input": (
            {},
            {**x, "audios": x["audio"]},
            sig.SUPERVISED,
            "INVALID_ARGUMENT",
            "input 'audios' is not an input",
        ),
        "missing input": ({}, {"audio": x["audio"]}, sig.WEAK, "INVALID_ARGUMENT", "'visual'"),
        "float64": (
            {},
            {**x, "audio": x["audio"].astype(np.float64)},
            sig.SUPERVISED,
            "INVALID_ARGUMENT",
            "must be float32, got float64",
        ),
        "rank": (
            {},
            {**x, "visual": x["visual"].reshape(2, 10, 49, 512)},
            sig.SUPERVISED,
            "INVALID_ARGUMENT",
            "must have shape [?, ?, 7, 7, 512]",
        ),
        "T = 0": (
            {},
            {"audio": x["audio"][:, :0], "visual": x["visual"][:, :0]},
            sig.SUPERVISED,
            "INVALID_ARGUMENT",
            "T = 0",
        ),
        "T mismatch": (
            {},
            {"audio": x["audio"][:, :4], "visual": x["visual"]},
            sig.SUPERVISED,
            "INVALID_ARGUMENT",
            "same batch size and number of segments",
        ),
        "query window": (
            {},
            {**localize_inputs, sig.QUERY_START: np.array([9, 0, 0], np.int64)},
            sig.LOCALIZE_A2V,
            "INVALID_ARGUMENT",
            "query window must lie inside",
        ),
        "garbage record": (
            {},
            {sig.SERIALIZED: np.array([b"\x01garbage"], dtype=object)},
            sig.PARSE_AND_PREDICT,
            "INVALID_ARGUMENT",
            "",
        ),
        "output filter": (
            dict(output_filter=["nope"]),
            x,
            sig.SUPERVISED,
            "INVALID_ARGUMENT",
            "output_filter 'nope'",
        ),
    }


BAD_REQUESTS = sorted(_bad_requests({sig.LOCALIZE_A2V: ({},)}).keys())


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_bad_request_is_refused_and_server_keeps_serving(server, cases, case):
    kwargs, inputs, signature, code, message = _bad_requests(cases)[case]
    model = kwargs.pop("model", "ave")
    with pytest.raises(ServingError) as raised:
        _predict_response(server, inputs, signature, model=model, **kwargs)
    codes = {code} if server.kind == "ave_serve" else {code, "INVALID_ARGUMENT", "NOT_FOUND"}
    codes |= {"FAILED_PRECONDITION"} if server.kind != "ave_serve" else set()
    assert raised.value.code.name in codes, raised.value
    if server.kind == "ave_serve":
        assert message in raised.value.details
    good, expected = cases[sig.SERVING_DEFAULT]
    fx.assert_outputs_equal(
        "after", _outputs(_predict_response(server, good, sig.SUPERVISED)), expected
    )


def _peak_rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        (line,) = [x for x in f if x.startswith("VmHWM:")]
    return int(line.split()[1]) * 1024


def test_huge_declared_shape_is_refused_before_allocation(server):
    from tensorflow.core.framework import types_pb2
    from tensorflow_serving.apis import predict_pb2

    # A few dozen bytes declaring a 2 GB float tensor with one value: TensorFlow would fill the
    # shape with that value; the server must refuse before building anything.
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "ave"
    request.model_spec.signature_name = sig.SUPERVISED
    for key, shape in ((sig.AUDIO, [1, 20480, 128]), (sig.VISUAL, [1, 20480, 7, 7, 512])):
        tensor = request.inputs[key]
        tensor.dtype = types_pb2.DT_FLOAT
        for size in shape:
            tensor.tensor_shape.dim.add(size=size)
        tensor.float_val.append(1.0)
    assert len(request.inputs[sig.VISUAL].SerializeToString()) < 40
    tracked = server.kind == "ave_serve" and os.path.exists(f"/proc/{server.process.pid}/status")
    before = _peak_rss_bytes(server.process.pid) if tracked else 0
    for signature in (sig.SUPERVISED, sig.SERVING_DEFAULT):
        request.model_spec.signature_name = signature
        with pytest.raises(ServingError) as raised:
            server.client.predict_response(request)
        assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT, raised.value
    if tracked:
        assert "over the server's limit" in raised.value.details, raised.value.details
        assert _peak_rss_bytes(server.process.pid) - before < 200 << 20
    # Declared shape and values must agree even when small (TF Serving's rule).
    for key in (sig.AUDIO, sig.VISUAL):
        request.inputs[key].tensor_shape.dim[1].size = 1
    with pytest.raises(ServingError) as raised:
        server.client.predict_response(request)
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT, raised.value


def test_batch_of_64_videos(server):
    x = fx.random_features(64, 10, seed=5)  # ~64 MB request
    response = _predict_response(server, x, sig.SUPERVISED, output_filter=[sig.CLASSES])
    outputs = _outputs(response)
    assert list(outputs) == [sig.CLASSES]
    assert outputs[sig.CLASSES].shape == (64, 10)


def test_concurrent_clients(server, exported):
    inputs = [fx.random_features(1, 10, seed=s) for s in range(4)]
    expected = [fx.supervised(exported["supervised"], x["audio"], x["visual"]) for x in inputs]
    threads, per_thread = 8, 40
    errors, done = [], [0]
    lock = threading.Lock()

    def worker(index):
        client = ServingClient(server.address, timeout=60, retries=0)
        try:
            for i in range(per_thread):
                k = (index + i) % len(inputs)
                try:
                    got = client.predict(inputs[k], signature_name=sig.SUPERVISED)
                    np.testing.assert_array_equal(got[sig.CLASSES], expected[k][sig.CLASSES])
                    with lock:
                        done[0] += 1
                except Exception as e:  # noqa: BLE001 - every failure is counted
                    with lock:
                        errors.append(repr(e))
        finally:
            client.close()

    start = time.monotonic()
    with futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads), timeout=300))
    elapsed = time.monotonic() - start
    assert errors == []
    assert done[0] == threads * per_thread
    assert elapsed < 300


def test_hot_swap_to_a_new_version_and_past_a_broken_one(server):
    base = server.swap_base

    def publish(version, write):
        versions.publish_version(base, write, version=version)

    def copy_version_one(staging, version):
        shutil.rmtree(staging)
        shutil.copytree(os.path.join(base, "1"), staging)

    x = fx.random_features(1, 3)
    assert _predict_response(server, x, sig.SUPERVISED, "ave_swap").model_spec.version.value == 1
    publish(2, copy_version_one)
    _wait_available(server.client, "ave_swap", 2, timeout=120)
    deadline = time.monotonic() + 60
    while _predict_response(server, x, sig.SUPERVISED, "ave_swap").model_spec.version.value != 2:
        assert time.monotonic() < deadline, "version 2 never served"
        time.sleep(0.2)
    statuses = server.client.model_status("ave_swap").model_version_status
    available = [s.version for s in statuses if s.state == s.AVAILABLE]
    assert available == [2]  # the latest-1 policy unloaded version 1

    def broken(staging, version):
        with open(os.path.join(staging, "saved_model.pb"), "wb") as f:
            f.write(b"not a SavedModel")

    publish(3, broken)
    time.sleep(3)  # several polls
    response = _predict_response(server, x, sig.SUPERVISED, "ave_swap")
    assert response.model_spec.version.value == 2
    if server.kind == "ave_serve":
        statuses = {
            s.version: s for s in server.client.model_status("ave_swap").model_version_status
        }
        assert statuses[3].state == statuses[3].END and statuses[3].status.error_message


def _ave_query(*flags) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ave_tf.bin.ave_query", *flags],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ave_query_prints_the_timeline_of_a_tfrecord(server, exported, tmp_path):
    import tensorflow as tf

    from ave_tf.data.ave_metadata import class_names

    videos = fx.videos([10, 6, 10], seed=7)
    path = str(tmp_path / "videos.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        for record in fx.records(videos):
            writer.write(record)
    out = tmp_path / "timeline.json"
    result = _ave_query(
        f"--server={server.address}", f"--input={path}", f"--output_json={out}", "--batch_size=2"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    reference = fx.parse_and_predict(exported["supervised"], videos)
    written = json.loads(out.read_text())
    assert written["signature"] == sig.PARSE_AND_PREDICT
    for i, video in enumerate(written["videos"]):
        assert video["video_id"] == f"video{i}" and f"video{i} (" in result.stdout
        steps = videos[i][0].shape[0]
        want = event_timeline(reference[sig.PROBABILITIES][i], class_names(), num_segments=steps)
        assert [(e["class"], e["start"], e["end"]) for e in video["events"]] == [
            (e["class"], e["start"], e["end"]) for e in want
        ]
        for event in want:
            assert event["class"] in result.stdout


def test_ave_query_parses_records_locally_for_other_signatures(server, exported, tmp_path):
    import tensorflow as tf

    from ave_tf.data.ave_metadata import class_names

    videos = fx.videos([10, 4], seed=9)
    path = str(tmp_path / "videos.tfrecord.gz")
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:  # compression is detected
        for record in fx.records(videos):
            writer.write(record)
    out = tmp_path / "timeline.json"
    result = _ave_query(
        f"--server={server.address}",
        f"--input={path}",
        "--signature=weak",
        "--batch_size=1",
        f"--output_json={out}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    names = class_names()
    for i, video in enumerate(json.loads(out.read_text())["videos"]):
        audio, visual = videos[i]
        want = fx.weak(exported["weak"], audio[None], visual[None])
        assert video["num_segments"] == audio.shape[0]
        assert video["video_class"] == names[int(want[sig.VIDEO_CLASSES][0])]
        events = event_timeline(want[sig.SEGMENT_SCORES][0], names)
        assert [e["class"] for e in video["events"]] == [e["class"] for e in events]
        assert (
            f"video{i} ({audio.shape[0]} s), video class: {video['video_class']}" in result.stdout
        )


@pytest.mark.slow
def test_ave_query_npy_folder(server, tmp_path):
    x = fx.random_features(2, 5, seed=8)
    np.save(tmp_path / "audio.npy", x["audio"])
    np.save(tmp_path / "visual.npy", x["visual"])
    result = _ave_query(f"--server={server.address}", f"--input={tmp_path}", "--max_videos=1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "video0 (5 s)" in result.stdout
    assert "video1" not in result.stdout


@pytest.mark.slow
def test_ave_query_unreachable_server_fails_after_retries(tmp_path):
    np.save(tmp_path / "audio.npy", np.zeros([10, 128], np.float32))
    np.save(tmp_path / "visual.npy", np.zeros([10, 7, 7, 512], np.float32))
    start = time.monotonic()
    result = _ave_query(
        f"--server=127.0.0.1:{_free_port()}", f"--input={tmp_path}", "--timeout=2", "--retries=1"
    )
    assert result.returncode == 2
    (error,) = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert "UNAVAILABLE after 2 attempts" in error
    assert time.monotonic() - start < 120
