"""`POST /sends`: the send log's HTTP endpoint, for senders in any language.

The body is one send or a JSON array of them, each as `sms-receipts sends import` reads a line:
`{"biz_id", "phone_number" or "phone_numbers", "send_time", "out_id"?, "template_code"?, "sign_name"?}`.
Authenticated by its own token (`Authorization: Bearer <token>`, compared in constant time with each of
`SMS_RECEIPTS_SENDS_TOKENS`): not the callback token, which travels in URLs. All or nothing: one bad
send answers 400 naming it and records none; a repeat records nothing new (insert-once rows).

| answer | when |
|---|---|
| 200 `{"code":0,"recorded":N}` | every send recorded (or already there) |
| 400 `{"code":400,"msg":...}` | not JSON, not sends, or a send that cannot be recorded (the first problems named) |
| 401 | no or a wrong token (also when no token is configured: the endpoint is off) |
| 413 | over the body limit |
| 500 | storage did not confirm: send again |
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..logs import log_event
from ..parsing import HttpRequest
from .tokens import matches_any

if TYPE_CHECKING:
    from ..storage.sends import Send

log = logging.getLogger("sms_receipts.sends")

PATH = "/sends"
MAX_SENDS = 10_000  # per request: 10,000 numbers is 50 BatchWriteRow requests
SECONDS = 5.0  # to record a request's sends: inside the HTTP function's 10 s timeout


def bearer_token_ok(request: HttpRequest, tokens: tuple[str, ...]) -> bool:
    given = request.headers.get("authorization", "")
    return given.startswith("Bearer ") and matches_any(given[len("Bearer ") :].strip(), tokens)


def _sends_of(body: bytes) -> list[Send]:
    from ..storage.sends import SendError, record_sends

    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SendError(f"the body is not JSON ({exc})") from None
    records = value if isinstance(value, list) else [value]
    if not records or len(records) > MAX_SENDS:
        raise SendError(f"give 1 to {MAX_SENDS} sends, not {len(records)}")
    sends: list[Send] = []
    problems = []
    for position, record in enumerate(records):
        if not isinstance(record, dict):
            problems.append(f"send {position}: a JSON {type(record).__name__}, not an object")
            continue
        try:
            sends.extend(record_sends(record, source="http"))
        except SendError as exc:
            problems.append(f"send {position}: {exc}")
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise SendError("; ".join(problems[:3]) + more)
    return sends


def record_sends_request(
    request: HttpRequest, tokens: tuple[str, ...], store_getter: Callable[[Any], Any], context: Any, deadline: float
) -> tuple[int, dict[str, Any]]:
    """(status, body) for one `POST /sends`. The send log's code loads on the first one: the callback
    path, on every cold start, does without it."""
    from ..storage.sends import SendError, SendLog

    started = time.monotonic()
    if not bearer_token_ok(request, tokens):
        log_event(log, "sends_refused", logging.WARNING, request_id=request.request_id, status=401)
        return 401, {"code": 401, "msg": "a send-log token is required: Authorization: Bearer <token>"}
    try:
        sends = _sends_of(request.body)
        written = SendLog(store_getter(context)).record(sends, deadline=deadline)
    except SendError as exc:
        log_event(log, "sends", logging.WARNING, request_id=request.request_id, status=400, error=str(exc)[:300])
        return 400, {"code": 400, "msg": str(exc)}
    status = 200 if written.confirmed else 500
    log_event(
        log,
        "sends",
        logging.INFO if status == 200 else logging.WARNING,
        request_id=request.request_id,
        sends=len(sends),
        status=status,
        errors=written.errors[:3] or None,
        latency_ms=round((time.monotonic() - started) * 1000, 1),
    )
    if status == 200:
        return 200, {"code": 0, "recorded": len(sends)}
    return 500, {"code": 500, "msg": "storage did not confirm every send in time, send again"}
