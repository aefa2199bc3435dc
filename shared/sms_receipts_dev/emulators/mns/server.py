"""`MnsEmulator`: a threaded loopback HTTP server that the real `aliyun-mns-sdk` (`mns.account.Account`) uses.

Per request it routes (method, path, query, body root), counts the API, authenticates (MNS signature,
long-term or temporary credentials from the shared `CredentialStore`), authorizes (denials and token
scope), applies a drawn fault if any, calls the model (which commits its changes before returning), and
replies with `x-mns-request-id`, `x-mns-version` and, for errors, the MNS `<Error>` document.

In-process::

    with MnsEmulator() as mns:                          # 127.0.0.1, free port, memory only
        mns.create_queue("Alicom-Queue-1234567890123456-SmsReport", visibility_timeout=30)
        queue = mns.account().get_queue("Alicom-Queue-1234567890123456-SmsReport")
        mns.faults.set(api="BatchReceiveMessage", server_busy=0.5)
        mns.deny(queue="Alicom-Queue-1234567890123456-SmsUp")   # AccessDeniedByRamPolicy for everyone

Faults on the wire: `server_busy` is 500 `InternalError`; `timeout` is a 504 HTML page from the
"gateway" (the SDK raises `MNSClientNetworkException("RespDataDamaged")`); `drop` closes the connection
(note: the SDK resends a request once when the connection drops before the status line, so one
dropped SendMessage may still succeed, and a `lost_response` SendMessage may enqueue twice).

Standalone: `main(["--port", "0", "--data-dir", "var/mns", "--queue", "q1"])` prints one JSON line with
`endpoint`, `access_key_id`, `access_key_secret`, `account_id`, `region` and `queues`, then serves until
SIGINT or SIGTERM.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

from ..credentials import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    DEFAULT_TOKEN_KEY,
    Credential,
    CredentialStore,
)
from ..faults import FaultConfig
from ..loopback import ANSWERED, LoopbackHandler, LoopbackService
from ..standalone import fault_config, parse_standalone_args, serve_until_signalled, standalone_parser
from .auth import Denial, authenticate, authorize
from .exceptions import InternalError, InvalidArgument, MnsError
from .models import MessageView, MnsState, OutgoingMessage, QueueAttributes
from .persistence import MessageStore
from .responses import MnsReply, MnsRequest, MnsResponses, error_document
from .urls import UNSUPPORTED, Route, resolve, route, split_target

logger = logging.getLogger(__name__)

DEFAULT_ACCOUNT_ID = "1943695596114318"  # the Alibaba-owned MNS account that holds the Alicom queues
DEFAULT_REGION = "cn-hangzhou"
MNS_VERSION = "2015-06-06"


class MnsEmulator(LoopbackService):
    """A local MNS account on loopback HTTP; `start()`/`stop()` or use it as a context manager."""

    service_name = "mns"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        data_dir: str | os.PathLike | None = None,
        credentials: CredentialStore | None = None,
        access_key_id: str = DEFAULT_ACCESS_KEY_ID,
        access_key_secret: str = DEFAULT_ACCESS_KEY_SECRET,
        account_id: str = DEFAULT_ACCOUNT_ID,
        region: str = DEFAULT_REGION,
        faults: FaultConfig | None = None,
        clock: Callable[[], float] | None = None,
        verify_signatures: bool = True,
    ):
        super().__init__(host, port)
        self.credentials = credentials if credentials is not None else CredentialStore()
        self.credentials.add_access_key(access_key_id, access_key_secret)
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.account_id = account_id
        self.region = region
        self.verify_signatures = verify_signatures
        self.faults = faults or FaultConfig()
        self.state = MnsState(clock or time.time, MessageStore(data_dir))  # memory only without a data dir
        self._responses = MnsResponses(self.state, self._stopping)
        self._denials: list[Denial] = []
        self._denials_lock = threading.Lock()

    def _on_stopping(self) -> None:
        self.state.wake()  # long polls see `_stopping` and end

    def stop(self) -> None:
        """Stop serving and close the data file (the WAL folds into it); `state` reopens it when used."""
        super().stop()
        self.state.close()

    def connection_info(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "access_key_id": self.access_key_id,
            "access_key_secret": self.access_key_secret,
            "account_id": self.account_id,
            "region": self.region,
            "queues": sorted(self.state.queues),
        }

    def account(
        self,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        security_token: str = "",
        **kwargs: Any,
    ) -> Any:
        """A `mns.account.Account` for this emulator (the emulator's own key unless others are given)."""
        from mns.account import Account

        return Account(
            self.endpoint,
            access_key_id or self.access_key_id,
            access_key_secret or self.access_key_secret,
            security_token,
            **kwargs,
        )

    # ---- direct state changes (no HTTP) ---------------------------------------------------------

    def create_queue(self, name: str, **attributes: int | bool) -> bool:
        """Create a queue as CreateQueue would (False when an identical one exists); persisted."""
        return self.state.create_queue(name, QueueAttributes().updated(**attributes))

    def enqueue(
        self,
        queue: str,
        body: str | bytes,
        *,
        base64_encode: bool = True,
        delay_seconds: int | None = None,
        priority: int | None = None,
    ) -> MessageView:
        """Put one message as a producer would; by default the body is base64 of its UTF-8 bytes, like
        the SDK's and the Alicom producer's."""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        text = base64.b64encode(raw).decode("ascii") if base64_encode else raw.decode("utf-8")
        return self.state.send_message(queue, OutgoingMessage(text, delay_seconds, priority))

    # ---- permissions ----------------------------------------------------------------------------

    def deny(self, queue: str | None = None, access_key_id: str | None = None, api: str | None = None) -> Denial:
        """Refuse matching requests with 403 AccessDeniedByRamPolicy until `clear_denials()`."""
        denial = Denial(queue, access_key_id, api)
        with self._denials_lock:
            self._denials.append(denial)
        return denial

    def clear_denials(self) -> None:
        with self._denials_lock:
            self._denials.clear()

    def allow_credentials(
        self,
        access_key_id: str,
        access_key_secret: str,
        security_token: str,
        expires_at: float | None,
        scope: tuple[str, ...] = (),
    ) -> Credential:
        """Accept one temporary credential until `expires_at` (seconds since the epoch)."""
        return self.credentials.allow(access_key_id, access_key_secret, security_token, expires_at, scope)

    # ---- request handling -----------------------------------------------------------------------

    def handle(self, handler: LoopbackHandler) -> None:
        method, target = handler.command, handler.path
        path, query = split_target(target)
        request_id = uuid.uuid4().hex[:24].upper()
        body = self.read_body(handler)
        if body is None:
            self._count(UNSUPPORTED)
            self._reply(handler, InvalidArgument("The Content-Length you specified is invalid."), request_id)
            return
        routed = route(method, path, query, body)
        self._count(routed.api)
        headers = {name.lower(): value for name, value in handler.headers.items()}
        fault = None
        try:
            request = MnsRequest(
                routed.api,
                method,
                routed.queue_name,
                query,
                headers,
                body,
                f"http://{headers.get('host') or self.address}",
                routed.unimplemented,
            )
            respond = resolve(self._responses, request, method, path)  # before authentication, unsigned
            self._check_access(routed, method, target, headers, body)
            fault = self.begin_fault(handler, routed.api, busy=InternalError)
            if fault == ANSWERED:
                return
            reply: MnsReply | MnsError = respond(request)
        except MnsError as error:
            reply = error
        except Exception as error:
            logger.exception("MNS emulator failed on %s", routed.api)
            reply = InternalError(f"{type(error).__name__}: {error}")
        if self.end_fault(handler, fault):
            return
        self._reply(handler, reply, request_id)

    def _check_access(self, routed: Route, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        credential = authenticate(
            self.credentials, method, target, headers, body, verify_signatures=self.verify_signatures
        )
        with self._denials_lock:
            denials = list(self._denials)
        authorize(credential, routed.api, routed.queue_name, denials, region=self.region, account_id=self.account_id)

    def _reply(self, handler: LoopbackHandler, reply: MnsReply | MnsError, request_id: str) -> None:
        if isinstance(reply, MnsError):
            status, payload, extra = reply.http_status, error_document(reply, request_id, self.endpoint), {}
        else:
            status, payload, extra = reply.status, reply.body, reply.headers
        headers = {"x-mns-request-id": request_id, "x-mns-version": MNS_VERSION, "Date": formatdate(usegmt=True)}
        if payload:
            headers["Content-Type"] = "text/xml;charset=utf-8"
        headers.update(extra)
        self.send(handler, status, headers, payload)


def main(argv: list[str] | None = None) -> int:
    """Run a standalone emulator: first stdout line is the connection JSON; SIGINT/SIGTERM stop it."""
    parser = standalone_parser(
        MnsEmulator.service_name,
        "Local MNS (Simple Message Queue) emulator for aliyun-mns-sdk.",
        data_dir_help="persist queues and messages here (default: memory only)",
    )
    parser.add_argument(
        "--queue", action="append", default=[], metavar="NAME", help="create this queue unless it exists (repeatable)"
    )
    parser.add_argument("--visibility-timeout", type=int, default=30, help="VisibilityTimeout of --queue queues")
    parser.add_argument("--account-id", default=DEFAULT_ACCOUNT_ID)
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument(
        "--token-key",
        default=DEFAULT_TOKEN_KEY,
        help="key that checks STS tokens minted by the dybaseapi emulator (same default there)",
    )
    args = parse_standalone_args(parser, argv)

    def build() -> MnsEmulator:
        emulator = MnsEmulator(
            args.host,
            args.port,
            data_dir=args.data_dir,
            credentials=CredentialStore(token_key=args.token_key),
            access_key_id=args.access_key_id,
            access_key_secret=args.access_key_secret,
            account_id=args.account_id,
            region=args.region,
            faults=fault_config(args),
        )
        for name in args.queue:
            if name in emulator.state.queues:
                continue  # kept from the data dir, with its own attributes
            try:
                emulator.create_queue(name, visibility_timeout=args.visibility_timeout)
            except MnsError as error:
                parser.error(f"--queue {name}: {error.code}: {error.message}")
        return emulator

    return serve_until_signalled(build)
