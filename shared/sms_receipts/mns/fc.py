"""The FC adapters of the MNS functions: settings and the store, created once per warm instance."""

from __future__ import annotations

import gc
import logging
from typing import Any

from .trigger import MnsTriggerSettings, handle_mns_event

_settings: MnsTriggerSettings | None = None


def _store_for(context: Any):
    from ..storage.config import get_store_handle

    return get_store_handle(context=context).store


def reset() -> None:
    global _settings
    _settings = None


def initialize(context: Any) -> None:
    logging.getLogger("sms_receipts").setLevel(logging.INFO)
    _store_for(context)
    gc.freeze()  # long-lived objects out of the collector's full passes (see sms_receipts.http.fc)


def handle_trigger_event(event: bytes, context: Any) -> dict[str, Any]:
    global _settings
    if _settings is None:
        _settings = MnsTriggerSettings.from_env()
    return handle_mns_event(event, context, _settings, _store_for)


_puller = None


def get_puller(context: Any):
    """The instance's puller: its token cache lives as long as the warm instance."""
    import os

    from ..storage.config import credentials_from
    from .alicom import AlicomPuller, AlicomSettings, TokenSource

    global _puller
    credentials = credentials_from(os.environ, context)
    if _puller is None:
        settings = AlicomSettings.from_env(context=context)
        _puller = AlicomPuller(settings, TokenSource(settings, credentials), _store_for(context))
    else:
        _puller.tokens.update_credentials(credentials)  # FC rotates the role's STS keys
    return _puller


def reset_puller() -> None:
    global _puller
    _puller = None


# Time kept back from the function's timeout for the last store and delete to finish.
PULL_MARGIN_SECONDS = 5.0


def handle_timer_event(event: bytes, context: Any) -> dict[str, Any]:
    timeout = float(getattr(getattr(context, "function", None), "timeout", 0) or 60)
    reports = get_puller(context).pull(max(3.0, timeout - PULL_MARGIN_SECONDS))
    return {"queues": [vars(report) for report in reports]}
