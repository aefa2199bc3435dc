"""Idempotent receipt storage in Tablestore.

`plan` and `rules` decide what to write (pure); `writer` carries it out with retries and reports
each item's outcome; `tablestore` is the thin SDK adapter behind the `backend` interface; `schema`
defines the tables once; `config` reads the environment and keeps one client per warm instance.
"""

from .backend import BackendError, RowResult, StorageBackend
from .config import ConfigurationError, StorageConfig, StoreHandle, get_store_handle
from .outcomes import ItemOutcome, Outcome, StoreResult
from .schema import DEAD_LETTER, DELIVERY_STATE, LEDGER, RECEIPT_STATE, TABLES, TableSchema
from .writer import ReceiptStore

__all__ = [
    "DEAD_LETTER", "DELIVERY_STATE", "LEDGER", "RECEIPT_STATE", "TABLES", "BackendError",
    "ConfigurationError", "ItemOutcome", "Outcome", "ReceiptStore", "RowResult", "StorageBackend",
    "StorageConfig", "StoreHandle", "StoreResult", "TableSchema", "get_store_handle",
]  # fmt: skip
