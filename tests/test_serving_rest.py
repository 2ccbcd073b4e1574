"""TF Serving's REST API end to end: a real HTTP client against the running server process.

Runs against `ave_serve --rest_api_port` and, where it is on PATH, `tensorflow_model_server
--rest_api_port` (same export, same requests; error texts are checked for ave_serve only).
"""

import base64
import http.client
import json
import urllib.parse

import export_fixtures as fx
import numpy as np
import pytest

from ave_tf.data.ave_metadata import class_names
from ave_tf.export import signatures as sig


def _call(server, method: str, path: str, body=None, raw: bytes | None = None):
    """(HTTP status, parsed JSON body) of one request on a fresh connection."""
    url = urllib.parse.urlsplit(server.rest_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    try:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        assert response.getheader("Content-Type", "").startswith("application/json")
        return response.status, json.loads(payload)
    finally:
        connection.close()


def _video_instance(x: dict, index: int) -> dict:
    return {sig.AUDIO: x[sig.AUDIO][index].tolist(), sig.VISUAL: x[sig.VISUAL][index].tolist()}


def test_model_status(server):
    status, body = _call(server, "GET", "/v1/models/ave")
    assert status == 200, body
    assert body == {
        "model_version_status": [
            {
                "version": "1",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }
    for path in ("/v1/models/ave/versions/1", "/v1/models/ave/labels/stable"):
        status, body = _call(server, "GET", path)
        assert status == 200 and body["model_version_status"][0]["version"] == "1", (path, body)
    for path in ("/v1/models/nope", "/v1/models/ave/versions/42"):
        status, body = _call(server, "GET", path)
        assert status == 404 and set(body) == {"error"}, (path, body)


def test_model_metadata(server):
    status, body = _call(server, "GET", "/v1/models/ave/metadata")
    assert status == 200, body
    assert body["model_spec"]["name"] == "ave" and body["model_spec"]["version"] == "1"
    signatures = body["metadata"]["signature_def"]["signature_def"]
    assert sig.SERVING_DEFAULT in signatures and sig.DISTANCE in signatures
    inputs = signatures[sig.SUPERVISED]["inputs"]
    assert set(inputs) == {sig.AUDIO, sig.VISUAL}
    assert inputs[sig.AUDIO]["dtype"] == "DT_FLOAT"
    dims = [d["size"] for d in inputs[sig.VISUAL]["tensor_shape"]["dim"]]
    assert dims == ["-1", "-1", "7", "7", "512"]


def test_predict_one_instance_row_format(server, serving_export):
    x = fx.random_features(1, 10, seed=3)
    want = fx.supervised(serving_export["supervised"], x[sig.AUDIO], x[sig.VISUAL])
    body = {"instances": [_video_instance(x, 0)]}  # serving_default
    status, answer = _call(server, "POST", "/v1/models/ave:predict", body)
    assert status == 200, answer
    (row,) = answer["predictions"]
    probabilities = np.array(row[sig.PROBABILITIES], np.float32)
    assert probabilities.shape == (10, 29)
    np.testing.assert_allclose(probabilities, want[sig.PROBABILITIES][0], rtol=1e-4, atol=1e-5)
    assert row[sig.CLASSES] == want[sig.CLASSES][0].tolist()


def test_predict_columnar_by_version_and_label(server, serving_export):
    x = fx.random_features(2, 4, seed=4)
    want = fx.weak(serving_export["weak"], x[sig.AUDIO], x[sig.VISUAL])
    body = {
        "signature_name": sig.WEAK,
        "inputs": {sig.AUDIO: x[sig.AUDIO].tolist(), sig.VISUAL: x[sig.VISUAL].tolist()},
    }
    for path in ("/v1/models/ave/versions/1:predict", "/v1/models/ave/labels/stable:predict"):
        status, answer = _call(server, "POST", path, body)
        assert status == 200, (path, answer)
        got = {k: np.array(v) for k, v in answer["outputs"].items()}
        assert set(got) == set(want)
        assert got[sig.VIDEO_CLASSES].tolist() == want[sig.VIDEO_CLASSES].tolist()
        np.testing.assert_allclose(
            got[sig.SEGMENT_SCORES], want[sig.SEGMENT_SCORES], rtol=1e-4, atol=1e-5
        )


def test_predict_distance_batch_4_t_10(server, serving_export):
    x = fx.random_features(4, 10, seed=6)
    want = fx.distance(serving_export["cross_modal"], x[sig.AUDIO], x[sig.VISUAL])
    body = {"signature_name": sig.DISTANCE, "instances": [_video_instance(x, i) for i in range(4)]}
    status, answer = _call(server, "POST", "/v1/models/ave:predict", body)
    assert status == 200, answer
    got = np.array([row[sig.DISTANCES] for row in answer["predictions"]], np.float32)
    assert got.shape == (4, 10)
    np.testing.assert_allclose(got, want[sig.DISTANCES], rtol=1e-4, atol=1e-5)


def test_predict_serialized_records_as_b64(server, serving_export):
    videos = fx.videos([10, 6], seed=7)
    records = fx.records(videos)
    want = fx.parse_and_predict(serving_export["supervised"], videos)
    body = {
        "signature_name": sig.PARSE_AND_PREDICT,
        "instances": [{"b64": base64.b64encode(r).decode()} for r in records],
    }
    status, answer = _call(server, "POST", "/v1/models/ave:predict", body)
    assert status == 200, answer
    rows = answer["predictions"]
    assert [row[sig.VIDEO_ID] for row in rows] == ["video0", "video1"]
    assert [row[sig.NUM_SEGMENTS] for row in rows] == [10, 6]
    np.testing.assert_allclose(
        np.array([row[sig.PROBABILITIES] for row in rows], np.float32),
        want[sig.PROBABILITIES],
        rtol=1e-4,
        atol=1e-5,
    )


def test_classify(server, serving_export):
    videos = fx.videos([10, 5], seed=11)
    want = fx.classify(serving_export["weak"], videos)
    examples = [{sig.AUDIO: a.ravel().tolist(), sig.VISUAL: v.ravel().tolist()} for a, v in videos]
    body = {"signature_name": sig.CLASSIFY, "examples": examples}
    status, answer = _call(server, "POST", "/v1/models/ave:classify", body)
    assert status == 200, answer
    assert len(answer["result"]) == 2
    for row, scores in zip(answer["result"], want[sig.SCORES], strict=True):
        assert [label for label, _ in row] == list(class_names())
        np.testing.assert_allclose([s for _, s in row], scores, rtol=1e-4, atol=1e-5)


def _bad_requests():
    x = fx.random_features(1, 3)
    good = _video_instance(x, 0)
    predict = "/v1/models/ave:predict"
    return {
        "not JSON": ("POST", predict, None, b"{not json", 400, "JSON Parse error"),
        "not an object": ("POST", predict, [1, 2], None, 400, "JSON object"),
        "both formats": ("POST", predict, {"instances": [good], "inputs": good}, None, 400,
                         "exactly one of"),
        "no instances": ("POST", predict, {"instances": []}, None, 400, "non-empty"),
        "strings for floats": ("POST", predict, {"instances": [{**good, "audio": [["a"] * 128]}]},
                               None, 400, "audio"),
        "ragged": ("POST", predict, {"instances": [{**good, "audio": [[0.0] * 128, [0.0]]}]},
                   None, 400, "rectangular"),
        "rank": ("POST", predict, {"instances": [{**good, "audio": [0.0] * 128}]}, None, 400,
                 "must have shape"),
        "missing input": ("POST", predict, {"instances": [{"audio": good["audio"]}]}, None, 400,
                          "needs"),
        "T mismatch": ("POST", predict, {"instances": [{**good, "audio": good["audio"][:2]}]},
                       None, 400, "same batch size and number of segments"),
        "unknown signature": ("POST", predict, {"signature_name": "nope", "instances": [good]},
                              None, 404, "signature 'nope' not found"),
        "unknown model": ("POST", "/v1/models/nope:predict", {"instances": [good]}, None, 404,
                          "nope"),
        "bad version": ("GET", "/v1/models/ave/versions/99999999999999999999", None, None, 400,
                        "int64"),
        "unknown path": ("GET", "/v2/anything", None, None, 404, "Malformed request"),
        "regress": ("POST", "/v1/models/ave:regress", {"examples": [{}]}, None, 501,
                    "regression"),
        "empty body": ("POST", predict, None, b"", 400, "JSON Parse error"),
    }  # fmt: skip


@pytest.mark.parametrize("case", sorted(_bad_requests()))
def test_bad_request_is_refused_with_a_json_error_and_server_keeps_serving(server, case):
    method, path, body, raw, code, message = _bad_requests()[case]
    status, answer = _call(server, method, path, body, raw)
    assert set(answer) == {"error"}, answer
    if server.kind == "ave_serve":
        assert status == code, answer
        assert message in answer["error"], answer
    else:
        assert 400 <= status < 600
    x = fx.random_features(1, 2, seed=1)
    status, answer = _call(server, "POST", "/v1/models/ave:predict",
                           {"instances": [_video_instance(x, 0)]})  # fmt: skip
    assert status == 200, answer


def test_version_copied_file_by_file_becomes_available(server):
    import os
    import shutil
    import time

    # gsutil/rsync copy file by file: the server sees saved_model.pb long before the variables.
    source = os.path.join(server.swap_base, "1")
    target = os.path.join(server.swap_base, "10")
    files = sorted(
        (os.path.relpath(os.path.join(folder, name), source)
         for folder, _, names in os.walk(source) for name in names),
        key=lambda rel: (rel != "saved_model.pb", rel),
    )  # fmt: skip
    for rel in files:
        os.makedirs(os.path.dirname(os.path.join(target, rel)), exist_ok=True)
        shutil.copyfile(os.path.join(source, rel), os.path.join(target, rel))
        time.sleep(0.7)  # more than one poll of the server between files
    deadline = time.monotonic() + 120
    while True:
        status, body = _call(server, "GET", "/v1/models/ave_swap/versions/10")
        if status == 200 and body["model_version_status"][0]["state"] == "AVAILABLE":
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.3)
