"""The threaded loopback HTTP server under every emulator, and their common lifecycle.

`LoopbackService` gives an emulator `start()`/`stop()`, the context-manager protocol, port 0 (a free
port, known after `start()`), a per-API request counter and `connection_info()` for standalone
`main()`s. A subclass implements `handle(handler)` for every HTTP method and reads/writes through
`read_body()`, `send()` and `drop()`.

Connections are HTTP/1.1 keep-alive with TCP_NODELAY. `stop()` returns once the socket is closed and
every handler thread has ended: keep-alive connections are shut down, and `_stopping` (an Event) is set
first so long polls, slow and lost-response waits end at once. Nothing is left running.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from .faults import FaultConfig

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024 * 1024
GATEWAY_TIMEOUT_PAGE = (
    b"<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
    b"<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n"
)
_Service = TypeVar("_Service", bound="LoopbackService")


class LoopbackHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as http.client and urllib3 pools expect
    disable_nagle_algorithm = True  # without TCP_NODELAY each call waits ~40 ms on delayed ACKs
    server: LoopbackHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def _dispatch(self) -> None:
        self.server.service.handle(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

    @property
    def server_version(self) -> str:  # type: ignore[override]
        return type(self.server.service).__name__

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - " + format, self.address_string(), *args)


class LoopbackHTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() joins every handler thread
    block_on_close = True

    def __init__(self, address: tuple[str, int], service: LoopbackService):
        self.service = service
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, LoopbackHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn), which can stall for seconds.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)
            if self.service._stopping.is_set():
                _shutdown(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """Wake handler threads idling on keep-alive connections so they can be joined."""
        with self._connections_lock:
            for connection in self._connections:
                _shutdown(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("connection from %s failed", client_address, exc_info=True)


def _shutdown(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the peer
        connection.shutdown(socket.SHUT_RDWR)


ANSWERED = "answered"  # begin_fault: the request has had its (faulty) answer


class LoopbackService:
    """Lifecycle, port, counters and HTTP plumbing shared by the loopback emulators."""

    service_name = "emulator"
    max_body_bytes = MAX_BODY_BYTES
    faults: FaultConfig  # each service sets its own

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self._requested_port = port
        self._requests: Counter[str] = Counter()
        self._requests_lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: LoopbackHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ------------------------------------------------------------------------------

    def start(self: _Service) -> _Service:
        if self._server is not None:
            raise RuntimeError(f"the {self.service_name} emulator is already running")
        self._stopping.clear()
        self._server = LoopbackHTTPServer((self.host, self._requested_port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.service_name}-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; returns once the socket is closed and every thread has ended. Idempotent."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()  # ends long polls, slow and lost-response waits
        self._on_stopping()
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def _on_stopping(self) -> None:
        """Hook: wake whatever a handler thread may be blocked on."""

    def __enter__(self: _Service) -> _Service:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is not None:
            return self._server.server_address[1]
        if self._requested_port:
            return self._requested_port
        raise RuntimeError(f"the {self.service_name} emulator picks its port on start(); start it first")

    @property
    def address(self) -> str:
        """host:port, with 127.0.0.1 for a wildcard bind."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"{host}:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"http://{self.address}"

    def connection_info(self) -> dict[str, Any]:
        """What a client needs to connect; a standalone `main()` prints it as its first line."""
        return {"endpoint": self.endpoint}

    # ---- bookkeeping ----------------------------------------------------------------------------

    @property
    def requests(self) -> Counter[str]:
        """How many requests each API received (a copy), faulted and rejected ones included."""
        with self._requests_lock:
            return Counter(self._requests)

    def reset_counters(self) -> None:
        with self._requests_lock:
            self._requests.clear()

    def _count(self, api: str) -> None:
        with self._requests_lock:
            self._requests[api] += 1

    # ---- HTTP plumbing --------------------------------------------------------------------------

    def handle(self, handler: LoopbackHandler) -> None:
        raise NotImplementedError

    @staticmethod
    def content_length(handler: LoopbackHandler) -> int:
        """The request's Content-Length (0 when absent, -1 when not a number)."""
        try:
            return int(handler.headers.get("Content-Length") or 0)
        except ValueError:
            return -1

    def read_body(self, handler: LoopbackHandler) -> bytes | None:
        """The request body, or None when Content-Length is unusable (the connection then closes)."""
        length = self.content_length(handler)
        if not 0 <= length <= self.max_body_bytes:
            handler.close_connection = True  # the body is not read, so the connection cannot be reused
            return None
        return handler.rfile.read(length)

    def wait(self, seconds: float) -> None:
        """Sleep that `stop()` cuts short."""
        self._stopping.wait(seconds)

    def drop(self, handler: LoopbackHandler) -> None:
        """Close the connection without a reply."""
        handler.close_connection = True

    def send(self, handler: LoopbackHandler, status: int, headers: dict[str, str], payload: bytes) -> None:
        try:
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(payload)))
            if self._stopping.is_set() or handler.close_connection:
                handler.send_header("Connection", "close")
                handler.close_connection = True
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(payload)
        except OSError:
            handler.close_connection = True  # the client gave up (for example after its own timeout)

    def send_gateway_timeout(self, handler: LoopbackHandler) -> None:
        """The HTML 504 a front-end gateway answers when the service behind it times out."""
        self.send(handler, 504, {"Content-Type": "text/html"}, GATEWAY_TIMEOUT_PAGE)

    def begin_fault(
        self, handler: LoopbackHandler, api: str, busy: type[Exception], timeout: type[Exception] | None = None
    ) -> str | None:
        """Draw this request's fault and act out what comes before handling it: `drop` closes the
        connection and `timeout` raises `timeout` or, when the service has no such error, answers a
        gateway's 504 page (both return ANSWERED: the caller stops); `server_busy` raises `busy`;
        `slow` waits. Returns the fault, for `end_fault` after handling."""
        fault = self.faults.draw(api)
        if fault == "drop":
            self.drop(handler)
            return ANSWERED
        if fault == "timeout":
            if timeout is not None:
                raise timeout()
            self.send_gateway_timeout(handler)
            return ANSWERED
        if fault == "server_busy":
            raise busy()
        if fault == "slow":
            self.wait(self.faults.slow_delay)
        return fault

    def end_fault(self, handler: LoopbackHandler, fault: str | None) -> bool:
        """Act out a `lost_response` once the request was applied: hang, then close without a reply.
        True when the reply must not be sent."""
        if fault != "lost_response":
            return False
        self.wait(self.faults.lost_response_hang)
        self.drop(handler)
        return True
