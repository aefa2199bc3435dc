"""`sms-receipts push`: send a receipt file as the SMS service does, re-pushing on failure.

The service POSTs a JSON array, waits 700 ms for HTTP 200 with a numeric `code`, and otherwise
pushes again after 1, 5 and 10 minutes, then gives up. `time_scale` shrinks those waits for local
use (0.001 turns minutes into 60 ms). An `https://` URL is pushed over TLS with the certificate
verified (against the system's CAs, or `ca_file`'s); a certificate that does not verify raises
`CertificateRefused` at once, since no re-push could succeed.
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sms_receipts.settings import ConfigurationError

RESPONSE_TIMEOUT = 0.7  # seconds the SMS service waits for an answer
RETRY_DELAYS = (60.0, 300.0, 600.0)  # then it gives up
DEFAULT_PORTS = {"http": 80, "https": 443}


class CertificateRefused(ConfigurationError):
    """The callback URL's TLS certificate does not verify (untrusted issuer, wrong host, expired)."""


@dataclass
class PushAttempt:
    status: int | None  # None when no answer came in time
    body: bytes
    seconds: float
    error: str | None = None
    # Seconds (scaled) until the next push; None when there is none (accepted, or the last one).
    retry_in: float | None = None

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


def _connection(url: str, timeout: float, ca_file: str | None) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ConfigurationError(f"{url!r} is not an http:// or https:// URL")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:  # a port that is not a number, or out of range
        raise ConfigurationError(f"{url!r}: {exc}") from None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "http":
        return http.client.HTTPConnection(parts.hostname, port, timeout=timeout), target
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"cannot read the CA bundle {ca_file}: {exc}") from None
    return http.client.HTTPSConnection(parts.hostname, port, timeout=timeout, context=context), target


def post_once(url: str, body: bytes, timeout: float = RESPONSE_TIMEOUT, *, ca_file: str | None = None) -> PushAttempt:
    """One POST; `timeout` bounds each step (connect, TLS handshake, each read), as before TLS."""
    connection, target = _connection(url, timeout, ca_file)
    started = time.monotonic()
    try:
        connection.request("POST", target, body=body, headers={"Content-Type": "application/json;charset=utf-8"})
        response = connection.getresponse()
        data = response.read()
        return PushAttempt(response.status, data, time.monotonic() - started)
    except ssl.SSLCertVerificationError as exc:
        hint = " (for a private CA, pass its certificate with --ca-file)" if ca_file is None else f" (CAs: {ca_file})"
        raise CertificateRefused(
            f"the TLS certificate of {connection.host}:{connection.port} is not trusted: "
            f"{exc.verify_message or exc.reason}{hint}"
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        return PushAttempt(None, b"", time.monotonic() - started, f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()


def push_attempts(
    url: str,
    body: bytes,
    time_scale: float = 1.0,
    delays: tuple[float, ...] = RETRY_DELAYS,
    sleep: Callable[[float], None] = time.sleep,
    timeout: float = RESPONSE_TIMEOUT,
    ca_file: str | None = None,
) -> Iterator[PushAttempt]:
    """Each attempt as soon as it ends (with `retry_in` set), then the wait before the next one: a
    caller prints progress while re-pushes are minutes apart."""
    waits = [delay * time_scale for delay in delays]
    for number in range(len(waits) + 1):
        attempt = post_once(url, body, timeout, ca_file=ca_file)
        if not attempt.accepted and number < len(waits):
            attempt.retry_in = waits[number]
        yield attempt
        if attempt.retry_in is None:
            return
        if attempt.retry_in:
            sleep(attempt.retry_in)


def push(
    url: str,
    body: bytes,
    time_scale: float = 1.0,
    delays: tuple[float, ...] = RETRY_DELAYS,
    sleep: Callable[[float], None] = time.sleep,
    timeout: float = RESPONSE_TIMEOUT,
    ca_file: str | None = None,
) -> PushResult:
    """Push until accepted or given up (`push_attempts`, every attempt kept)."""
    return PushResult(list(push_attempts(url, body, time_scale, delays, sleep, timeout, ca_file)))
