"""Idempotent receipt storage in Tablestore.

`plan` and `rules` decide what to write (pure); `writer` carries it out with retries and reports
each item's outcome; `tablestore` is the thin SDK adapter behind the `backend` interface; `schema`
defines the tables once; `settings` reads the environment; `factory` builds the client, backend and
store from those settings (one per warm instance: `sms_receipts.instance`).
"""

import logging

from .backend import BackendError, RowResult, StorageBackend
from .factory import Storage
from .outcomes import ItemOutcome, Outcome, StoreResult
from .schema import DEAD_LETTER, DELIVERY_STATE, LEDGER, RECEIPT_STATE, TABLES, TableSchema
from .settings import ConfigurationError, StorageSettings
from .writer import ReceiptStore

__all__ = [
    "DEAD_LETTER",
    "DELIVERY_STATE",
    "LEDGER",
    "RECEIPT_STATE",
    "TABLES",
    "BackendError",
    "ConfigurationError",
    "ItemOutcome",
    "Outcome",
    "ReceiptStore",
    "RowResult",
    "Storage",
    "StorageBackend",
    "StorageSettings",
    "StoreResult",
    "TableSchema",
]


class _NativeCodecNotice(logging.Filter):
    """Demotes to DEBUG the SDK's import-time notices that its native C++ codec is not available.

    It does not load on python3.10 (SDK 6.4.8's extension fails to import there), so the WARNING logged
    on import says nothing a user or FC's log can act on; with no handler, Python prints it to stderr.
    Set here, before any storage module imports the SDK; the level of the SDK's request logging is the
    caller's (`tablestore.quiet_sdk_logs`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith("Native ") and message.endswith("using Python implementation"):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


for _name in ("tablestore.encoder", "tablestore.decoder"):  # the SDK modules that log them
    logging.getLogger(_name).addFilter(_NativeCodecNotice())
del _name
