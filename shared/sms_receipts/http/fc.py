"""The FC adapters of the receiver: FC 3.0 HTTP trigger events, and the instance's lifecycle.

The receiver and the store belong to the warm instance (`sms_receipts.instance`); `initialize` (the
FC initializer hook) creates both ahead of the first push, so its client set-up does not count
against 700 ms.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ..instance import current
from ..parsing import EventError, read_http_event
from . import collector_paused
from .receiver import HttpReply

log = logging.getLogger("sms_receipts.http")


def initialize(context: Any) -> None:
    logging.getLogger("sms_receipts").setLevel(logging.INFO)
    instance = current()
    # What is made here lives as long as the instance, as what the handler's import made: frozen out of
    # the collector's passes, which would otherwise pause a push for 15-20 ms now and then.
    with collector_paused():
        instance.storage(context)  # the SDK import and the client, before the first push
        instance.receiver()


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
        request = read_http_event(event)
    except EventError as exc:
        log.warning("not an FC HTTP trigger event: %s", exc)
        return to_fc_response(HttpReply(400, {"code": 400, "msg": "not an HTTP trigger event"}))
    return to_fc_response(current().receiver().handle(request, context, started))
