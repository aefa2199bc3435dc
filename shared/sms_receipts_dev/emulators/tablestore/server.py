"""`TablestoreEmulator`: a local Tablestore instance that the real `tablestore.OTSClient` talks to, served
by the emulators' shared threaded loopback HTTP server (`sms_receipts_dev.emulators.loopback`).

Per request it counts the API, authenticates (x-ots-* headers, content MD5, x-ots-date within 15 minutes,
V2 `x-ots-signature` HMAC-SHA1 or V4 `x-ots-signaturev4` HMAC-SHA256; an STS token header is accepted),
routes by path, applies a drawn fault if any, calls the model (which commits its changes to the SQLite
store before returning), and signs the reply the way the SDK checks it (`x-ots-contentmd5`,
`x-ots-requestid`, `x-ots-date`, `x-ots-contenttype`, `Authorization: OTS <akid>:<sig>` keyed by the
secret or the V4-derived key).

In-process::

    with TablestoreEmulator() as emulator:             # 127.0.0.1, free port, memory only
        client = emulator.client(retry_policy=NoRetryPolicy())
        emulator.faults.set(api="PutRow", server_busy=0.5)

Standalone: `main(["--port", "0", "--data-dir", "var/ots"])` prints one JSON line with `endpoint`,
`instance_name`, `access_key_id` and `access_key_secret`, then serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import uuid
from datetime import datetime, timezone
from typing import Any

import tablestore.protobuf.table_store_pb2 as pb2
from tablestore import OTSClient

from ..credentials import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET
from ..loopback import ANSWERED, LoopbackHandler, LoopbackService
from ..standalone import fault_config, parse_standalone_args, serve_until_signalled, standalone_parser
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
from .faults import FaultConfig
from .models import TablestoreState
from .persistence import RowStore
from .responses import TablestoreResponses
from .urls import api_name, resolve

logger = logging.getLogger(__name__)

DEFAULT_INSTANCE_NAME = "sms-receipts-local"
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


class TablestoreEmulator(LoopbackService):
    """A local Tablestore instance on loopback HTTP; `start()`/`stop()` or use it as a context manager."""

    service_name = "tablestore"
    max_body_bytes = MAX_BODY_BYTES

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
        super().__init__(host, port)
        self.instance_name = instance_name  # any instance name a client sends is accepted
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.verify_signatures = verify_signatures
        self.faults = faults or FaultConfig()
        self.state = TablestoreState(rows=RowStore(data_dir))  # memory only without a data dir
        self._responses = TablestoreResponses(self.state)

    def connection_info(self) -> dict[str, str]:
        return {
            "endpoint": self.endpoint,
            "instance_name": self.instance_name,
            "access_key_id": self.access_key_id,
            "access_key_secret": self.access_key_secret,
        }

    def stop(self) -> None:
        """Stop serving and close the data file (the WAL folds into it); `state` reopens it when used."""
        super().stop()
        self.state.close()

    def client(self, **kwargs: Any) -> OTSClient:
        """An `OTSClient` for this emulator; keyword arguments go to `OTSClient` (retry_policy, region...)."""
        return OTSClient(self.endpoint, self.access_key_id, self.access_key_secret, self.instance_name, **kwargs)

    # ---- request handling -----------------------------------------------------------------------

    def handle(self, handler: LoopbackHandler) -> None:
        api = api_name(handler.path)
        if handler.command != "POST":  # the API is POST only; other methods are refused before counting
            handler.close_connection = True  # the body is not read, so the connection cannot be reused
            self._reply(handler, api, MethodNotAllowed(), None)
            return
        self._count(api)
        body = self.read_body(handler)
        if body is None:
            invalid_length = ParameterInvalid(f"Invalid Content-Length: {self.content_length(handler)}.")
            self._reply(handler, api, invalid_length, None)
            return
        headers = {name.lower(): value for name, value in handler.headers.items()}
        signing_key = fault = None
        try:
            handle = resolve(self._responses, api)  # before authentication, as the service does: unsigned
            signing_key = self._authenticate(api, headers, body)
            fault = self.begin_fault(handler, api, busy=ServerBusy, timeout=OperationTimeout)
            if fault == ANSWERED:
                return
            reply: TablestoreError | bytes = handle(body).SerializeToString()  # committed: durable once answered
        except TablestoreError as error:
            reply = error
        except Exception as error:
            logger.exception("Tablestore emulator failed on %s", api)
            reply = InternalServerError(f"{type(error).__name__}: {error}")
        if self.end_fault(handler, fault):
            return
        self._reply(handler, api, reply, signing_key)

    def _authenticate(self, api: str, headers: dict[str, str], body: bytes) -> str | bytes:  # noqa: C901 - V2 and V4, each check as the service makes it
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
        self, handler: LoopbackHandler, api: str, reply: TablestoreError | bytes, signing_key: str | bytes | None
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
        self.send(handler, status, headers, payload)


def main(argv: list[str] | None = None) -> int:
    """Run a standalone emulator: first stdout line is the connection JSON; SIGINT/SIGTERM stop it."""
    parser = standalone_parser(
        TablestoreEmulator.service_name,
        "Local Tablestore (OTS) emulator for the tablestore SDK.",
        data_dir_help="persist tables and rows here (default: memory only)",
    )
    parser.add_argument("--instance-name", default=DEFAULT_INSTANCE_NAME)
    args = parse_standalone_args(parser, argv)
    return serve_until_signalled(
        lambda: TablestoreEmulator(
            args.host,
            args.port,
            data_dir=args.data_dir,
            instance_name=args.instance_name,
            access_key_id=args.access_key_id,
            access_key_secret=args.access_key_secret,
            faults=fault_config(args),
        )
    )
