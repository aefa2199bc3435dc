"""`TablestoreEmulator`: a threaded loopback HTTP server the real `tablestore.OTSClient` talks to.

Per request it counts the API, authenticates (x-ots-* headers, content MD5, x-ots-date within 15 minutes,
V2 `x-ots-signature` HMAC-SHA1 or V4 `x-ots-signaturev4` HMAC-SHA256; an STS token header is accepted),
routes by path, applies a drawn fault if any, calls the model, persists the snapshot when state changed,
and signs the reply the way the SDK checks it (`x-ots-contentmd5`, `x-ots-requestid`, `x-ots-date`,
`x-ots-contenttype`, `Authorization: OTS <akid>:<sig>` keyed by the secret or the V4-derived key).

In-process::

    with TablestoreEmulator() as emulator:             # 127.0.0.1, free port, memory only
        client = emulator.client(retry_policy=NoRetryPolicy())
        emulator.faults.set(api="PutRow", server_busy=0.5)

Standalone: `main(["--port", "0", "--data-dir", "var/ots"])` prints one JSON line with `endpoint`,
`instance_name`, `access_key_id` and `access_key_secret`, then serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gc
import hashlib
import hmac
import json
import logging
import os
import signal
import socket
import socketserver
import threading
import uuid
from collections import Counter
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import tablestore.protobuf.table_store_pb2 as pb2
from tablestore import OTSClient

from .exceptions import (
    AuthFailed,
    InternalServerError,
    MethodNotAllowed,
    MissingHeader,
    OperationTimeout,
    ParameterInvalid,
    ServerBusy,
    TablestoreError,
)
from .faults import FaultConfig, FaultRates
from .models import TablestoreBackend
from .persistence import SnapshotStore
from .responses import TablestoreResponses
from .urls import api_name, resolve

logger = logging.getLogger(__name__)

DEFAULT_INSTANCE_NAME = "sms-receipts-local"
DEFAULT_ACCESS_KEY_ID = "LTAI-local-emulator"
DEFAULT_ACCESS_KEY_SECRET = "local-emulator-secret"
MAX_CLOCK_SKEW_SECONDS = 15 * 60
MAX_BODY_BYTES = 64 * 1024 * 1024
_SIGNATURE_HEADERS = ("x-ots-signature", "x-ots-signaturev4")
_REQUIRED_HEADERS = ("x-ots-date", "x-ots-contentmd5", "x-ots-accesskeyid", "x-ots-instancename")


def _b64_md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


def _hmac_b64(key: str | bytes, text: str, digest: Any) -> str:
    key_bytes = key.encode("utf-8") if isinstance(key, str) else key
    return base64.b64encode(hmac.new(key_bytes, text.encode("utf-8"), digest).digest()).decode("ascii")


def _ots_headers_string(headers: dict[str, str]) -> str:
    return "\n".join(
        sorted(
            f"{name}:{value.strip()}"
            for name, value in headers.items()
            if name.startswith("x-ots-") and name not in _SIGNATURE_HEADERS
        )
    )


def v4_signing_key(secret: str, sign_date: str, region: str) -> bytes:
    """The V4 key chain: HMAC-SHA256 of date, region, "ots", "aliyun_v4_request", base64-encoded."""
    key = ("aliyun_v4" + secret).encode("utf-8")
    for part in (sign_date, region, "ots", "aliyun_v4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(key)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as urllib3's pool expects
    disable_nagle_algorithm = True  # without TCP_NODELAY each call waits ~40 ms on delayed ACKs
    server_version = "TablestoreEmulator"
    server: _EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def do_POST(self) -> None:
        self.server.emulator._serve(self)

    def _not_post(self) -> None:
        self.server.emulator._reject_method(self)

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _not_post

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - " + format, self.address_string(), *args)


class _EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() joins every handler thread
    block_on_close = True

    def __init__(self, address: tuple[str, int], emulator: TablestoreEmulator):
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn), which can stall for seconds.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)
            if self.emulator._stopping.is_set():
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


class TablestoreEmulator:
    """A local Tablestore instance on loopback HTTP; `start()`/`stop()` or use it as a context manager."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        data_dir: str | os.PathLike | None = None,
        instance_name: str = DEFAULT_INSTANCE_NAME,
        access_key_id: str = DEFAULT_ACCESS_KEY_ID,
        access_key_secret: str = DEFAULT_ACCESS_KEY_SECRET,
        faults: FaultConfig | None = None,
        verify_signatures: bool = True,
    ):
        self.host = host
        self.instance_name = instance_name  # any instance name a client sends is accepted
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.verify_signatures = verify_signatures
        self.faults = faults or FaultConfig()
        self.backend = TablestoreBackend()
        self._store = SnapshotStore(data_dir) if data_dir is not None else None
        if self._store is not None:
            self._store.load(self.backend)
        self._responses = TablestoreResponses(self.backend)
        self._requested_port = port
        self._requests: Counter[str] = Counter()
        self._requests_lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ------------------------------------------------------------------------------

    def start(self) -> TablestoreEmulator:
        if self._server is not None:
            raise RuntimeError("the Tablestore emulator is already running")
        self._stopping.clear()
        self._server = _EmulatorHTTPServer((self.host, self._requested_port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"tablestore-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; returns once the socket is closed and every thread has ended."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()  # also cuts short slow and lost-response waits
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> TablestoreEmulator:
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
        raise RuntimeError("the Tablestore emulator picks its port on start(); start it first")

    @property
    def endpoint(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}"

    def connection_info(self) -> dict[str, str]:
        return {
            "endpoint": self.endpoint,
            "instance_name": self.instance_name,
            "access_key_id": self.access_key_id,
            "access_key_secret": self.access_key_secret,
        }

    def client(self, **kwargs: Any) -> OTSClient:
        """An `OTSClient` for this emulator; keyword arguments go to `OTSClient` (retry_policy, region...)."""
        return OTSClient(self.endpoint, self.access_key_id, self.access_key_secret, self.instance_name, **kwargs)

    # ---- bookkeeping ----------------------------------------------------------------------------

    @property
    def requests(self) -> Counter[str]:
        """How many requests each API received (a copy), faulted and rejected ones included."""
        with self._requests_lock:
            return Counter(self._requests)

    def reset_counters(self) -> None:
        with self._requests_lock:
            self._requests.clear()

    # ---- request handling -----------------------------------------------------------------------

    def _serve(self, handler: _RequestHandler) -> None:
        api = api_name(handler.path)
        with self._requests_lock:
            self._requests[api] += 1
        try:
            length = int(handler.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            handler.close_connection = True  # the body is not read, so the connection cannot be reused
            self._reply(handler, api, ParameterInvalid(f"Invalid Content-Length: {length}."), None)
            return
        body = handler.rfile.read(length)
        headers = {name.lower(): value for name, value in handler.headers.items()}
        signing_key = fault = None
        try:
            handle = resolve(self._responses, api)  # before authentication, as the service does: unsigned
            signing_key = self._authenticate(api, headers, body)
            fault = self.faults.draw(api)
            if fault == "drop":
                handler.close_connection = True
                return
            if fault == "server_busy":
                raise ServerBusy()
            if fault == "timeout":
                raise OperationTimeout()
            if fault == "slow":
                self._stopping.wait(self.faults.slow_delay)
            reply: TablestoreError | bytes = handle(body).SerializeToString()
            if self._store is not None:
                self._store.save_if_changed(self.backend)  # before replying: an acknowledged write is durable
        except TablestoreError as error:
            reply = error
        except Exception as error:
            logger.exception("Tablestore emulator failed on %s", api)
            reply = InternalServerError(f"{type(error).__name__}: {error}")
        if fault == "lost_response":
            self._stopping.wait(self.faults.lost_response_hang)
            handler.close_connection = True
            return
        self._reply(handler, api, reply, signing_key)

    def _reject_method(self, handler: _RequestHandler) -> None:
        handler.close_connection = True
        self._reply(handler, api_name(handler.path), MethodNotAllowed(), None)

    def _authenticate(self, api: str, headers: dict[str, str], body: bytes) -> str | bytes:
        """Check the request as the service does; returns the key that signs the reply."""
        for name in _REQUIRED_HEADERS:
            if name not in headers:
                raise MissingHeader(name)
        if "x-ots-signaturev4" in headers:
            for name in ("x-ots-signdate", "x-ots-signregion"):
                if name not in headers:
                    raise MissingHeader(name)
            signing_key: str | bytes = v4_signing_key(
                self.access_key_secret, headers["x-ots-signdate"], headers["x-ots-signregion"]
            )
        elif "x-ots-signature" in headers:
            signing_key = self.access_key_secret
        else:
            raise MissingHeader("x-ots-signature")
        if not self.verify_signatures:
            return signing_key
        if headers["x-ots-accesskeyid"] != self.access_key_id:
            raise AuthFailed("The AccessKeyID does not exist.")
        if headers["x-ots-contentmd5"] != _b64_md5(body):
            raise AuthFailed("Mismatch between MD5 value of request body and x-ots-contentmd5 in header.")
        sent_date = headers["x-ots-date"]
        try:
            sent_at = datetime.strptime(sent_date, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        except ValueError:
            raise ParameterInvalid(f"Invalid date format: {sent_date}.") from None
        if abs((datetime.now(timezone.utc) - sent_at).total_seconds()) > MAX_CLOCK_SKEW_SECONDS:
            raise AuthFailed(f"Mismatch between system time and x-ots-date: {sent_date}.")
        canonical = f"/{api}\nPOST\n\n{_ots_headers_string(headers)}\n"
        if isinstance(signing_key, bytes):
            expected = _hmac_b64(signing_key, canonical + "ots", hashlib.sha256)
            sent = headers["x-ots-signaturev4"]
        else:
            expected, sent = _hmac_b64(signing_key, canonical, hashlib.sha1), headers["x-ots-signature"]
        if not hmac.compare_digest(expected, sent):
            raise AuthFailed("Signature mismatch.")
        return signing_key

    def _reply(
        self, handler: _RequestHandler, api: str, reply: TablestoreError | bytes, signing_key: str | bytes | None
    ) -> None:
        if isinstance(reply, TablestoreError):
            status = reply.http_status
            payload = pb2.Error(code=reply.code, message=reply.message).SerializeToString()
        else:
            status, payload = 200, reply
        headers = {
            "x-ots-contentmd5": _b64_md5(payload),
            "x-ots-requestid": str(uuid.uuid4()),
            "x-ots-date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "x-ots-contenttype": "protocol buffer",
        }
        if signing_key is not None:  # an authentication failure goes unsigned, like the service's
            signature = _hmac_b64(signing_key, f"{_ots_headers_string(headers)}\n/{api}", hashlib.sha1)
            headers["Authorization"] = f"OTS {self.access_key_id}:{signature}"
        try:
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(payload)))
            if self._stopping.is_set():
                handler.send_header("Connection", "close")
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:
            handler.close_connection = True  # the client gave up (for example after its own timeout)


def main(argv: list[str] | None = None) -> int:
    """Run a standalone emulator: first stdout line is the connection JSON; SIGINT/SIGTERM stop it."""
    parser = argparse.ArgumentParser(
        prog="sms-receipts emulator tablestore", description="Local Tablestore (OTS) emulator for the tablestore SDK."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--data-dir", help="persist tables and rows here (default: memory only)")
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="combined fault rate, spread equally over busy, timeout, slow, drop and lost",
    )
    parser.add_argument("--seed", type=int, help="seed for the fault draws")
    parser.add_argument("--slow-delay", type=float, default=1.0, help="seconds a slow response waits")
    parser.add_argument(
        "--lost-response-hang",
        type=float,
        default=0.0,
        help="seconds to hang before dropping an applied request's response",
    )
    parser.add_argument("--instance-name", default=DEFAULT_INSTANCE_NAME)
    parser.add_argument("--access-key-id", default=DEFAULT_ACCESS_KEY_ID)
    parser.add_argument("--access-key-secret", default=DEFAULT_ACCESS_KEY_SECRET)
    args = parser.parse_args(argv)
    if not 0.0 <= args.fault_rate <= 1.0:
        parser.error("--fault-rate must be between 0 and 1")

    faults = FaultConfig(seed=args.seed, slow_delay=args.slow_delay, lost_response_hang=args.lost_response_hang)
    faults.set(**vars(FaultRates.spread(args.fault_rate)))
    stop_requested = threading.Event()
    previous_handlers = {
        sig: signal.signal(sig, lambda *_: stop_requested.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        emulator = TablestoreEmulator(
            args.host,
            args.port,
            data_dir=args.data_dir,
            instance_name=args.instance_name,
            access_key_id=args.access_key_id,
            access_key_secret=args.access_key_secret,
            faults=faults,
        )
        with emulator:
            gc.freeze()  # the SDK and any loaded snapshot live as long as the process: spare them full GC passes
            print(json.dumps(emulator.connection_info()), flush=True)
            while not stop_requested.wait(0.5):
                pass
    finally:
        for sig, previous in previous_handlers.items():
            signal.signal(sig, previous)
    return 0
