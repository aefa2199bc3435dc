"""`sms-receipts push`: send a receipt file as the SMS service does, re-pushing on failure.

The service POSTs a JSON array, waits 700 ms for HTTP 200 with a numeric `code`, and otherwise
pushes again after 1, 5 and 10 minutes, then gives up. `time_scale` shrinks those waits for local
use (0.001 turns minutes into 60 ms).
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

RESPONSE_TIMEOUT = 0.7  # seconds the SMS service waits for an answer
RETRY_DELAYS = (60.0, 300.0, 600.0)  # then it gives up


@dataclass
class PushAttempt:
    status: int | None  # None when no answer came in time
    body: bytes
    seconds: float
    error: str | None = None

    @property
    def accepted(self) -> bool:
        if self.status != 200:
            return False
        try:
            return isinstance(json.loads(self.body).get("code"), int)
        except (ValueError, AttributeError):
            return False


@dataclass
class PushResult:
    attempts: list[PushAttempt] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].accepted


def post_once(url: str, body: bytes, timeout: float = RESPONSE_TIMEOUT) -> PushAttempt:
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    started = time.monotonic()
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    try:
        connection.request("POST", target, body=body, headers={"Content-Type": "application/json;charset=utf-8"})
        response = connection.getresponse()
        data = response.read()
        return PushAttempt(response.status, data, time.monotonic() - started)
    except (OSError, http.client.HTTPException) as exc:
        return PushAttempt(None, b"", time.monotonic() - started, f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()


def push(
    url: str,
    body: bytes,
    time_scale: float = 1.0,
    delays: tuple[float, ...] = RETRY_DELAYS,
    sleep: Callable[[float], None] = time.sleep,
    timeout: float = RESPONSE_TIMEOUT,
) -> PushResult:
    result = PushResult()
    for delay in (0.0, *delays):
        if delay:
            sleep(delay * time_scale)
        attempt = post_once(url, body, timeout)
        result.attempts.append(attempt)
        if attempt.accepted:
            break
    return result
