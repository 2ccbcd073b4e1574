"""The REST transport under hostile clients: body limits, connection caps, stalled sockets, a
busy port, keep-alive. A stub API stands in for the models (the API itself: test_serving_rest)."""

import http.client
import json
import socket
import time

import pytest

from ave_tf.serving.rest_server import RestServer


class _EchoApi:
    def handle(self, method, path, body=b""):
        return 200, {"method": method, "path": path, "bytes": len(body)}


@pytest.fixture()
def rest():
    servers = []

    def start(**kwargs):
        server = RestServer(_EchoApi(), host="127.0.0.1", port=0, **kwargs)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _post(port: int, body: bytes, connection=None):
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", "/v1/models/x:predict", body=body)
    response = connection.getresponse()
    return response.status, json.loads(response.read()), connection


def test_keep_alive_serves_several_requests_on_one_connection(rest):
    server = rest()
    status, body, connection = _post(server.port, b"{}")
    assert (status, body["bytes"]) == (200, 2)
    status, body, _ = _post(server.port, b"{12}", connection)
    assert (status, body["bytes"]) == (200, 4)
    connection.close()


def test_oversized_body_is_refused_unread(rest):
    server = rest(max_body_bytes=1000)
    status, body, connection = _post(server.port, b"x" * 5000)
    connection.close()
    assert status == 413 and "over the limit of 1000" in body["error"]
    assert _post(server.port, b"x" * 1000)[0] == 200


def test_post_without_content_length_is_refused(rest):
    server = rest()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"POST /v1/models/x:predict HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 411")


def test_connections_over_the_cap_get_503_and_the_server_recovers(rest):
    server = rest(max_connections=2, timeout_seconds=30)
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(2)]
    time.sleep(0.3)  # both accepted and holding their threads
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as third:
        assert third.recv(4096).startswith(b"HTTP/1.1 503")
    for s in idle:
        s.close()
    deadline = time.monotonic() + 10
    while True:  # the slots are released once the handler threads see the closed sockets
        try:
            if _post(server.port, b"{}")[0] == 200:
                break
        except (ConnectionError, http.client.HTTPException):
            pass
        assert time.monotonic() < deadline, "connection slots never released"
        time.sleep(0.1)


def test_stalled_client_is_disconnected_after_the_timeout(rest):
    server = rest(timeout_seconds=0.5)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"POST /v1/models/x:predict HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
        start = time.monotonic()
        assert s.recv(4096) == b""  # closed without an answer
        assert time.monotonic() - start < 5


def test_a_second_server_on_a_busy_port_fails_to_bind(rest):
    server = rest()
    with pytest.raises(OSError):
        RestServer(_EchoApi(), host="127.0.0.1", port=server.port)


def test_large_bodies_share_a_memory_budget(rest):
    import threading

    class _SlowApi(_EchoApi):
        def handle(self, method, path, body=b""):
            time.sleep(1.0)
            return super().handle(method, path, body)

    server = RestServer(
        _SlowApi(), host="127.0.0.1", port=0, timeout_seconds=0.5, max_inflight_bytes=1500
    )
    server.start()
    try:
        first = threading.Thread(target=_post, args=(server.port, b"x" * 1000))
        first.start()
        time.sleep(0.3)  # the first body holds 1000 of the 1500 bytes for a second
        status, body, connection = _post(server.port, b"y" * 1000)
        connection.close()
        assert status == 503 and "busy" in body["error"]
        assert _post(server.port, b"z" * 400)[0] == 200  # fits beside it
        first.join()
        assert _post(server.port, b"y" * 1000)[0] == 200  # budget given back
    finally:
        server.stop()


def test_deeply_nested_json_is_a_bad_request():
    from ave_tf.serving.rest_api import RestApi

    api = RestApi(registry=None)
    status, body = api.handle("POST", "/v1/models/m:predict", b"[" * 100000 + b"]" * 100000)
    assert status == 400 and "nested too deeply" in body["error"]
