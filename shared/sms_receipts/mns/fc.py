"""The FC adapters of the MNS functions; settings, store and puller belong to the warm instance.

The MNS receipt function also drains the inbox (`storage.inbox`): its timer trigger (every minute)
hands it a timer event, told apart from MNS events by its fields, and it stores what pushes and
batches spilled there. It runs on the MNS function's own instances, not the HTTP function's, so a
drain never holds an instance a push is waiting for.
"""

from __future__ import annotations

import gc
import json
import logging
from typing import Any

from ..instance import current, function_timeout
from ..logs import log_event
from .trigger import handle_mns_event

log = logging.getLogger("sms_receipts.drain")


def initialize(context: Any) -> None:
    logging.getLogger("sms_receipts").setLevel(logging.INFO)
    current().storage(context)
    gc.freeze()  # long-lived objects out of the collector's full passes (see sms_receipts.http.fc)


def is_timer_event(event: bytes) -> bool:
    """An FC timer trigger's event: `{"triggerTime", "triggerName", "payload"}` (no MNS event has both)."""
    if not event.lstrip().startswith(b"{") or b"triggerTime" not in event:
        return False
    try:
        value = json.loads(event)
    except ValueError:
        return False
    return isinstance(value, dict) and "triggerTime" in value and "triggerName" in value


def handle_trigger_event(event: bytes, context: Any) -> dict[str, Any]:
    if is_timer_event(event):
        return handle_drain_event(event, context)
    instance = current()
    return handle_mns_event(event, context, instance.mns_trigger_settings, instance.store)


def handle_drain_event(event: bytes, context: Any) -> dict[str, Any]:
    budget = max(3.0, function_timeout(context) - PULL_MARGIN_SECONDS)
    report = current().drain(context).run(budget)
    level = logging.WARNING if report.left else logging.INFO
    if report.entries:
        log_event(log, "drain", level, **report.as_fields())
    return report.as_fields()


# Time kept back from the function's timeout for the last store and delete to finish.
PULL_MARGIN_SECONDS = 5.0


def handle_timer_event(event: bytes, context: Any) -> dict[str, Any]:
    budget = max(3.0, function_timeout(context) - PULL_MARGIN_SECONDS)
    reports = current().puller(context).pull(budget)
    return {"queues": [vars(report) for report in reports]}
