"""A local stand-in for the FC 3.0 HTTP trigger front end.

Each HTTP request becomes the exact FC 3.0 HTTP event (header values of a repeated header joined with
commas, the body base64-encoded when it is not UTF-8 text), the handler is called with it as bytes,
and the handler's `{statusCode, headers, isBase64Encoded, body}` becomes the HTTP response.
"""

from __future__ import annotations

import json
import socketserver
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..testing.events import fc_http_event
from ..testing.fc import decode_fc_response, fc_context

Handler = Callable[[bytes, Any], Any]

MAX_REQUEST_BYTES = 32 * 1024 * 1024  # FC's synchronous payload limit


def build_event(
    method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str, request_id: str
) -> bytes:
    """The FC event of one HTTP request: repeated headers and query parameters joined with commas."""
    parts = urlsplit(target)
    joined: dict[str, str] = {}
    for name, value in headers:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    return fc_http_event(method, parts.path, joined, query, body, source_ip, request_id)


class _GatewayRequestHandler(BaseHTTPRequestHandler):
    server: _GatewayServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def _invoke(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length else b""
        request_id = f"1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:16]}"
        event = build_event(
            self.command, self.path, list(self.headers.items()), body, self.client_address[0], request_id
        )
        try:
            status, headers, data = decode_fc_response(self.server.handler(event, fc_context(request_id)))
        except Exception as exc:  # noqa: BLE001 - what FC does with an unhandled error
            status, headers = 502, [("X-Fc-Error-Type", "UnhandledInvocationError")]
            data = json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__}).encode("utf-8")
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Fc-Request-Id", request_id)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _invoke

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the function logs each request itself


class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: Handler):
        super().__init__(address, _GatewayRequestHandler)
        self.handler = handler

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn), which can stall for seconds.
        socketserver.TCPServer.server_bind(self)
        host, self.server_port = self.server_address[:2]
        self.server_name = str(host)


class FcHttpGateway:
    """Serves `handler(event, context)` on http://HOST:PORT, like an FC HTTP trigger. The port is bound
    on construction (an `OSError` when it is taken), served from `start()`."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0):
        self._server = _GatewayServer((host, port), handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self._server.server_name}:{self._server.server_port}"

    def start(self) -> FcHttpGateway:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fc-http-gateway", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port; also for a gateway never started. Idempotent."""
        if self._thread is not None:
            self._server.shutdown()  # waits for serve_forever, so only once it runs
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FcHttpGateway:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
