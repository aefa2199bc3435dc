"""Storage: Tablestore requests and wall time to store a 100- and a 1,000-item push through the store,
side by side with a naive writer that calls put_row once per item, both against the emulator."""

from __future__ import annotations

import math
import time

from tablestore import Condition, Row, RowExistenceExpectation

from sms_receipts.parsing import MessageType, decode_http_body
from sms_receipts.storage import ReceiptStore
from sms_receipts.storage.tablestore import TablestoreBackend
from sms_receipts_dev.emulators.tablestore import TablestoreEmulator

from .samples import emulator_storage, push_body, sms_report_push


def _backend(emulator: TablestoreEmulator) -> TablestoreBackend:
    return emulator_storage(emulator, "b").backend


def _naive_store(backend: TablestoreBackend, items) -> None:
    """What a first attempt looks like: one conditional put_row per receipt."""
    table = backend.table_name("receipt_ledger")
    for item in items:
        row = Row(
            [("entity_key", item.entity_key), ("idempotency_key", item.idempotency_key)],
            [("record", item.raw_json), ("source", item.source.value)],
        )
        backend.client.put_row(table, row, Condition(RowExistenceExpectation.EXPECT_NOT_EXIST))


def run() -> dict:
    figures = {"name": "store"}
    with TablestoreEmulator() as emulator:
        for count in (100, 1000):
            items = decode_http_body(push_body(sms_report_push(count)), MessageType.SMS_REPORT).items
            store_backend, naive_backend = _backend(emulator), _backend(emulator)

            emulator.reset_counters()
            started = time.perf_counter()
            result = ReceiptStore(store_backend).write(items)
            store_seconds = time.perf_counter() - started
            store_requests = emulator.requests["BatchWriteRow"]
            assert result.counts["stored"] == count

            emulator.reset_counters()
            started = time.perf_counter()
            _naive_store(naive_backend, items)
            naive_seconds = time.perf_counter() - started
            naive_requests = emulator.requests["PutRow"]

            rows = 2 * count  # ledger + delivery state per report
            figures[f"{count}_items"] = {
                "rows": rows,
                "store_requests": store_requests,
                "ceil_rows_over_200": math.ceil(rows / 200),
                "store_ms": round(store_seconds * 1000, 1),
                "naive_put_row_requests": naive_requests,
                "naive_ms": round(naive_seconds * 1000, 1),
                "request_ratio_naive_to_store": round(naive_requests / store_requests, 1),
                "time_ratio_naive_to_store": round(naive_seconds / store_seconds, 1),
            }
    return figures
