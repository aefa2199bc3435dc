"""The receiver as a WSGI application: FC 2.0's HTTP handler `handler(environ, start_response)`,
or any WSGI server for teams that host the receiver outside Function Compute."""

from __future__ import annotations

import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from ..instance import current
from ..parsing import HttpRequest


def request_from_environ(environ: dict[str, Any], max_body_bytes: int) -> HttpRequest:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    # Read one byte past the limit, so an oversized body is refused without reading all of it.
    body = environ["wsgi.input"].read(min(length, max_body_bytes + 1)) if length > 0 else b""
    headers = {
        key[5:].replace("_", "-").lower(): str(value) for key, value in environ.items() if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    context = environ.get("fc.context")
    return HttpRequest(
        method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
        path=environ.get("PATH_INFO") or "/",
        headers=headers,
        query=dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)),
        body=body,
        source_ip=str(environ.get("REMOTE_ADDR", "")),
        request_id=str(getattr(context, "request_id", "") or headers.get("x-fc-request-id", "")),
    )


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    started = time.monotonic()
    receiver = current().receiver()
    request = request_from_environ(environ, receiver.settings.max_body_bytes)
    reply = receiver.handle(request, environ.get("fc.context"), started)
    body = reply.body_bytes()
    status = f"{reply.status} {HTTPStatus(reply.status).phrase}"
    start_response(status, [*reply.headers.items(), ("Content-Length", str(len(body)))])
    return [body]
