"""The FC adapters of the MNS functions; settings, store and puller belong to the warm instance."""

from __future__ import annotations

import gc
import logging
from typing import Any

from ..instance import current, function_timeout
from .trigger import handle_mns_event


def initialize(context: Any) -> None:
    logging.getLogger("sms_receipts").setLevel(logging.INFO)
    current().storage(context)
    gc.freeze()  # long-lived objects out of the collector's full passes (see sms_receipts.http.fc)


def handle_trigger_event(event: bytes, context: Any) -> dict[str, Any]:
    instance = current()
    return handle_mns_event(event, context, instance.mns_trigger_settings, instance.store)


# Time kept back from the function's timeout for the last store and delete to finish.
PULL_MARGIN_SECONDS = 5.0


def handle_timer_event(event: bytes, context: Any) -> dict[str, Any]:
    budget = max(3.0, function_timeout(context) - PULL_MARGIN_SECONDS)
    reports = current().puller(context).pull(budget)
    return {"queues": [vars(report) for report in reports]}
