"""The receiver: one HTTP request in, one reply out, within the SMS service's 700 ms.

The SMS service does not sign its pushes, so the URL carries the secret: `?token=<token>`, compared
in constant time against every configured token (several at once, for rotation). Then the body
limit, parsing, and storage, answered by a deadline (default 500 ms after the request arrived):

- storing inline until the deadline less the time kept for a spill (default 150 ms); what is not
  confirmed by then is spilled to the inbox (`storage.inbox`), which the drain finishes;
- every item stored, duplicate, stale, dead-lettered or spilled: 200 `{"code":0,"msg":"接收成功"}`;
- not even the spill confirmed by the deadline: 500 with a numeric `code`, so the service pushes
  again (after 1, 5 and 10 minutes); idempotent storage makes that safe.

Settings come from environment variables: `ReceiverSettings.VARIABLES`.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..logs import log_event
from ..parsing import (
    HttpRequest,
    MessageType,
    ParsedItem,
    decode_http_body,
    message_type_from_name,
    message_type_from_path,
)
from ..settings import ConfigurationError, Variable, names
from ..storage.inbox import write_or_spill
from .sends import PATH as SENDS_PATH
from .sends import SECONDS as SENDS_SECONDS
from .sends import record_sends_request
from .tokens import matches_any

log = logging.getLogger("sms_receipts.http")

TOKENS = Variable(
    "SMS_RECEIPTS_CALLBACK_TOKENS",
    "comma-separated tokens accepted in `?token=`; none = every push refused",
    unset="none",
)
ALLOWED_IPS = Variable(
    "SMS_RECEIPTS_ALLOWED_IPS", "comma-separated source IPs or CIDR ranges; empty = any", unset="any"
)
MAX_BODY = Variable("SMS_RECEIPTS_MAX_BODY_BYTES", "largest body accepted", str(1024 * 1024))
DEADLINE_MS = Variable(
    "SMS_RECEIPTS_HTTP_DEADLINE_MS", "time from arrival to the answer (the SMS service waits 700 ms)", "500"
)
SPILL_MS = Variable(
    "SMS_RECEIPTS_HTTP_SPILL_MS", "of the deadline, the time kept for spilling what is not stored inline", "150"
)
SENDS_TOKENS = Variable(
    "SMS_RECEIPTS_SENDS_TOKENS",
    "comma-separated tokens of `POST /sends` (the send log), in `Authorization: Bearer`; none = off",
    unset="none (off)",
)
MESSAGE_TYPE = Variable(
    "SMS_RECEIPTS_MESSAGE_TYPE", "message type of every push when the path names none", unset="path, then fields"
)
ENV_TOKENS, ENV_ALLOWED_IPS, ENV_MESSAGE_TYPE = TOKENS.name, ALLOWED_IPS.name, MESSAGE_TYPE.name

ACCEPTED = {"code": 0, "msg": "接收成功"}
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


@dataclass(frozen=True)
class ReceiverSettings:
    VARIABLES: ClassVar = (TOKENS, ALLOWED_IPS, MAX_BODY, DEADLINE_MS, SPILL_MS, MESSAGE_TYPE, SENDS_TOKENS)

    tokens: tuple[str, ...] = ()
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    max_body_bytes: int = 1024 * 1024
    deadline_ms: int = 500
    spill_ms: int = 150
    message_type: MessageType | None = None
    sends_tokens: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ReceiverSettings:
        tokens = tuple(t.strip() for t in env.get(ENV_TOKENS, "").split(",") if t.strip())
        try:
            networks = tuple(
                ipaddress.ip_network(part.strip(), strict=False)
                for part in env.get(ENV_ALLOWED_IPS, "").split(",")
                if part.strip()
            )
        except ValueError as exc:
            raise ConfigurationError(f"{ENV_ALLOWED_IPS}: {exc}") from None
        message_type = env.get(ENV_MESSAGE_TYPE, "").strip()
        if SPILL_MS.integer(env) >= DEADLINE_MS.integer(env):
            raise ConfigurationError(f"{SPILL_MS.name} must be less than {DEADLINE_MS.name}")
        return cls(
            tokens=tokens,
            allowed_networks=networks,
            max_body_bytes=MAX_BODY.integer(env),
            deadline_ms=DEADLINE_MS.integer(env),
            spill_ms=SPILL_MS.integer(env),
            message_type=message_type_from_name(message_type) if message_type else None,
            sends_tokens=tuple(t.strip() for t in env.get(SENDS_TOKENS.name, "").split(",") if t.strip()),
        )


HTTP_ENV_VARS = names(ReceiverSettings.VARIABLES)


@dataclass
class HttpReply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON_HEADERS))

    def body_bytes(self) -> bytes:
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _reply(status: int, msg: str, **headers: str) -> HttpReply:
    return HttpReply(status, {"code": status, "msg": msg}, {**JSON_HEADERS, **headers})


class Receiver:
    """Stateless but for its settings and its store getter (which creates the client once)."""

    def __init__(self, settings: ReceiverSettings, store_getter: Callable[[Any], Any]):
        self.settings = settings
        self._store_getter = store_getter

    def token_ok(self, token: str | None) -> bool:
        return matches_any(token or "", self.settings.tokens)

    def source_ok(self, source_ip: str) -> bool:
        if not self.settings.allowed_networks:
            return True
        try:
            address = ipaddress.ip_address(source_ip.strip())
        except ValueError:
            return False
        return any(address in network for network in self.settings.allowed_networks)

    def handle(self, request: HttpRequest, context: Any = None, started: float | None = None) -> HttpReply:
        started = time.monotonic() if started is None else started
        path = request.path.rstrip("/") or "/"
        if request.method == "GET" and path.endswith("/health"):
            return HttpReply(200, {"status": "ok"})
        if request.method != "POST":
            return _reply(405, "only POST is accepted", Allow="POST")
        if path.endswith(SENDS_PATH):  # the send log: its own token, no callback IP allow-list (senders are elsewhere)
            return self._record_sends(request, context, started)
        if not self.source_ok(request.source_ip):
            self._log_refused(request, started, 403, "source IP not allowed")
            return _reply(403, "forbidden")
        if not self.token_ok(request.query.get("token")):
            reason = "callback token missing" if not request.query.get("token") else "callback token wrong"
            if not self.settings.tokens:
                reason = f"no callback token configured ({ENV_TOKENS})"
            self._log_refused(request, started, 403, reason)
            return _reply(403, "forbidden")
        if len(request.body) > self.settings.max_body_bytes:
            self._log_refused(request, started, 413, f"body of {len(request.body) // 1024} KiB over the limit")
            return _reply(413, f"body over {self.settings.max_body_bytes} bytes")
        return self._receive(request, context, started)

    def _receive(self, request: HttpRequest, context: Any, started: float) -> HttpReply:
        declared = message_type_from_path(request.path) or self.settings.message_type
        parsed = decode_http_body(request.body, declared)
        deadline = started + self.settings.deadline_ms / 1000
        fields: dict[str, Any] = {
            "request_id": request.request_id,
            "message_type": declared.value if declared else _types_of(parsed.items),
            "items": len(parsed.items) + len(parsed.rejected),
        }
        try:
            written = write_or_spill(
                self._store_getter(context),
                parsed.items,
                parsed.rejected,
                inline_deadline=deadline - self.settings.spill_ms / 1000,
                deadline=deadline,
            )
        except Exception as exc:  # noqa: BLE001 - any failure: answer 500 so the service pushes again
            log_event(
                log,
                "push",
                logging.ERROR,
                **fields,
                status=500,
                error=f"{type(exc).__name__}: {exc}",
                latency_ms=_ms_since(started),
            )
            return _reply(500, "storage unavailable, push again")
        result = written.result
        status = 200 if written.confirmed else 500
        level = logging.INFO if status == 200 else logging.WARNING
        log_event(
            log,
            "push",
            level,
            **fields,
            **written.counts,
            status=status,
            errors=written.errors[:3] or None,
            serializer_fallbacks=result.serializer_fallbacks,
            latency_ms=_ms_since(started),
        )
        if status == 200:
            return HttpReply(200, dict(ACCEPTED))
        return _reply(500, "storage did not confirm every receipt in time, push again")

    def _record_sends(self, request: HttpRequest, context: Any, started: float) -> HttpReply:
        if len(request.body) > self.settings.max_body_bytes:
            return _reply(413, f"body over {self.settings.max_body_bytes} bytes")
        # No 700 ms here: a sender waits for its answer; a large batch gets several seconds.
        deadline = started + max(self.settings.deadline_ms / 1000, SENDS_SECONDS)
        status, body = record_sends_request(request, self.settings.sends_tokens, self._store_getter, context, deadline)
        return HttpReply(status, body)

    def _log_refused(self, request: HttpRequest, started: float, status: int, reason: str) -> None:
        # The query string is never logged: it carries the token.
        log_event(
            log,
            "push_refused",
            logging.WARNING,
            request_id=request.request_id,
            status=status,
            reason=reason,
            source_ip=request.source_ip,
            latency_ms=_ms_since(started),
        )


def _types_of(items: Iterable[ParsedItem]) -> str | None:
    names = sorted({item.message_type.value for item in items})
    return ",".join(names) or None


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
