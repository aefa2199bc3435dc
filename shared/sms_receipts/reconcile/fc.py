"""The FC adapter of the reconcile function: its timer trigger starts one run (`job.run_job`) that
ends `MARGIN_SECONDS` before the function's timeout; what it could not reach is the next run's."""

from __future__ import annotations

import gc
import logging
from typing import Any

from ..instance import current, function_timeout
from ..storage.settings import credentials_from

MARGIN_SECONDS = 10.0  # the last answers' store, and QuerySendStatistics


def initialize(context: Any) -> None:
    logging.getLogger("sms_receipts").setLevel(logging.INFO)
    current().storage(context)
    gc.freeze()  # long-lived objects out of the collector's full passes (see sms_receipts.http.fc)


def handle_timer_event(event: bytes, context: Any) -> dict[str, Any]:
    from .job import run_job

    instance = current()
    budget = max(5.0, function_timeout(context) - MARGIN_SECONDS)
    credentials = credentials_from(instance.env, context)
    result = run_job(instance.storage(context), instance.reconcile_settings, credentials, budget)
    return result.as_fields()
