"""The HTTP transport of the REST API: a threaded HTTP/1.1 server that no client can exhaust.

Each connection gets a thread, up to `max_connections` (more are answered 503 and closed);
at most `num_threads` requests run a model at once; a socket idle or stalled for `timeout`
seconds is closed (slow clients cannot hold threads forever); a body larger than
`max_body_bytes` is refused (413) before it is read, and bodies being read or decoded share a
budget of `max_inflight_bytes` (a request waits up to `timeout` for its share, then gets 503), so
that many large JSON bodies at once (JSON numbers take several times their text in Python) cannot
exhaust memory.
"""

import http.server
import json
import logging
import socket
import socketserver
import threading
import time

from ave_tf.serving.rest_api import RestApi

_BUSY_BODY = json.dumps({"error": "server busy: too many open connections"}).encode()
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Connection: close\r\nContent-Length: " + str(len(_BUSY_BODY)).encode() + b"\r\n\r\n"
    + _BUSY_BODY
)  # fmt: skip


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "ave_serve"

    def setup(self):
        self.timeout = self.server.timeout_seconds  # socket timeout for every read
        super().setup()

    def do_GET(self):
        self._answer("GET")

    def do_POST(self):
        self._answer("POST")

    def do_PUT(self):
        self._answer("PUT")

    def do_DELETE(self):
        self._answer("DELETE")

    def _answer(self, method: str) -> None:
        body = b""
        length = self.headers.get("Content-Length")
        if method == "POST" or length:
            if length is None or not length.strip().isdigit():
                self._send(411, {"error": "a request body needs a Content-Length header"}, True)
                return
            size = int(length)
            if size > self.server.max_body_bytes:
                message = (
                    f"request body of {size} bytes is over the limit of "
                    f"{self.server.max_body_bytes} (ave_serve --max_message_mb)"
                )
                self._send(413, {"error": message}, close=True)  # body left unread: close
                return
            if not self.server.reserve(size):
                self._send(503, {"error": "server busy: too many large requests"}, close=True)
                return
            try:
                body = self.rfile.read(size)
                if len(body) != size:
                    self.close_connection = True
                    return
                with self.server.running:
                    status, payload = self.server.api.handle(method, self.path, body)
                del body
            finally:
                self.server.release(size)
        else:
            with self.server.running:
                status, payload = self.server.api.handle(method, self.path, body)
        self._send(status, payload)

    def _send(self, status: int, payload: dict, close: bool = False) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        logging.debug("REST %s: " + format, self.address_string(), *args)


class RestServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """Serves a RestApi on (host, port); `port=0` picks a free one (see `port`).

    SO_REUSEADDR (set by HTTPServer) only allows rebinding over TIME_WAIT sockets on Linux; it
    does not let a second server listen on a busy port, so the bind fails as it should.
    """

    daemon_threads = True

    def __init__(
        self,
        api: RestApi,
        host: str = "127.0.0.1",
        port: int = 8501,
        num_threads: int = 16,
        timeout_seconds: float = 30.0,
        max_body_bytes: int = 256 << 20,
        max_connections: int | None = None,
        max_inflight_bytes: int | None = None,
    ):
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.api = api
        self.timeout_seconds = timeout_seconds
        self.max_body_bytes = max_body_bytes
        self.running = threading.BoundedSemaphore(num_threads)
        self._connections = threading.BoundedSemaphore(max_connections or 16 * num_threads)
        self._budget = max_inflight_bytes or 2 * max_body_bytes
        self._inflight = 0
        self._budget_changed = threading.Condition()
        self._thread: threading.Thread | None = None
        super().__init__((host, port), _Handler)

    def reserve(self, size: int) -> bool:
        """Waits (up to the socket timeout) until `size` body bytes fit in the budget."""
        deadline = time.monotonic() + self.timeout_seconds
        with self._budget_changed:
            while self._inflight and self._inflight + size > self._budget:
                left = deadline - time.monotonic()
                if left <= 0 or not self._budget_changed.wait(left):
                    return False
            self._inflight += size  # one body larger than the budget still runs alone
            return True

    def release(self, size: int) -> None:
        with self._budget_changed:
            self._inflight -= size
            self._budget_changed.notify_all()

    def server_bind(self):
        # HTTPServer's own server_bind resolves the host's FQDN: a DNS lookup we do not need.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    @property
    def port(self) -> int:
        return self.server_address[1]

    def process_request(self, request, client_address):
        if not self._connections.acquire(blocking=False):
            try:
                request.sendall(_BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._connections.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._connections.release()

    def handle_error(self, request, client_address):
        logging.debug("REST connection from %s failed", client_address, exc_info=True)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.5}, name="rest", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
