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
import time
from typing import Any

from ..instance import current, function_timeout
from ..logs import log_event
from .trigger import handle_mns_event

log = logging.getLogger("sms_receipts.drain")

# Time kept back from the function's timeout for the last store and delete (or inbox write) to finish.
MARGIN_SECONDS = 5.0


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
    """Drain the inbox; every `SMS_RECEIPTS_REPAIR_MINUTES` (when set) repair the recent ledger too."""
    from ..storage.inbox import REPAIR_MARGIN_MINUTES
    from ..storage.repair import repair

    started = time.monotonic()
    deadline = started + max(3.0, function_timeout(context) - MARGIN_SECONDS)
    instance = current()
    report = instance.drain(context).run(deadline - started)
    level = logging.WARNING if report.left else logging.INFO
    if report.entries:
        log_event(log, "drain", level, **report.as_fields())
    fields = report.as_fields()
    settings = instance.drain_settings
    if settings.repairs_at(time.time()):
        since = int((time.time() - 60 * (settings.repair_minutes + REPAIR_MARGIN_MINUTES)) * 1000)
        storage = instance.storage(context)
        repaired = repair(storage.backend, storage.store, since, deadline=deadline)
        repair_level = (
            logging.WARNING if repaired.repaired or repaired.failed or not repaired.complete else logging.INFO
        )
        log_event(log, "repair", repair_level, **{k: v for k, v in vars(repaired).items() if k != "errors"})
        fields["repair"] = vars(repaired)
    return fields


def handle_timer_event(event: bytes, context: Any) -> dict[str, Any]:
    budget = max(3.0, function_timeout(context) - MARGIN_SECONDS)
    reports = current().puller(context).pull(budget)
    return {"queues": [vars(report) for report in reports]}
