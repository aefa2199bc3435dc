"""The FC adapters of the receiver: FC 3.0 HTTP trigger events, and the instance's lifecycle.

The receiver and the store are created once per warm instance; `initialize` (the FC initializer
hook) creates both ahead of the first push, so its client set-up does not count against 700 ms.
"""

from __future__ import annotations

import base64
import gc
import logging
import time
from typing import Any

from ..parsing import EventError, parse_http_event
from .receiver import HttpReply, Receiver, ReceiverSettings

log = logging.getLogger("sms_receipts.http")

_receiver: Receiver | None = None


def _store_for(context: Any):
    from ..storage.config import get_store_handle

    return get_store_handle(context=context).store


def get_receiver() -> Receiver:
    global _receiver
    if _receiver is None:
        _receiver = Receiver(ReceiverSettings.from_env(), _store_for)
    return _receiver


def reset() -> None:
    """Forget the instance's receiver (tests change the environment between cases)."""
    global _receiver
    _receiver = None


def initialize(context: Any) -> None:
    logging.getLogger("sms_receipts").setLevel(logging.INFO)
    _store_for(context)  # the SDK import and the client, before the first push
    get_receiver()
    # Everything loaded so far lives as long as the instance: keep it out of the collector's full
    # passes, which otherwise pause a push for 15-20 ms now and then.
    gc.freeze()


def to_fc_response(reply: HttpReply) -> dict[str, Any]:
    return {
        "statusCode": reply.status,
        "headers": reply.headers,
        "isBase64Encoded": False,
        "body": reply.body_bytes().decode("utf-8"),
    }


def handle_event(event: bytes, context: Any) -> dict[str, Any]:
    started = time.monotonic()
    try:
        request = parse_http_event(event)
    except EventError as exc:
        log.warning("not an FC HTTP trigger event: %s", exc)
        return to_fc_response(HttpReply(400, {"code": 400, "msg": "not an HTTP trigger event"}))
    return to_fc_response(get_receiver().handle(request, context, started))


def decode_fc_response(response: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body bytes of what a handler returned (as the FC front end reads it)."""
    body = response.get("body") or ""
    data = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode("utf-8")
    return int(response.get("statusCode", 200)), dict(response.get("headers") or {}), data
