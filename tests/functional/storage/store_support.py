"""Helpers for the storage tests."""

from __future__ import annotations

import json

from sms_receipts.parsing import MessageType, decode_http_body

# Columns that record when or by which call a row was written, not what it says.
VOLATILE_COLUMNS = {"received_at", "updated_at", "write_id"}


def parse(receipts, message_type=MessageType.SMS_REPORT, via_path=None):
    result = decode_http_body(json.dumps(receipts, ensure_ascii=False).encode("utf-8"), message_type, via_path)
    return result.items, result.rejected


def table_contents(backend, table):
    """Every row of a table without its volatile columns, keyed by primary key, for comparison."""
    from sms_receipts.storage.schema import TABLES

    key_names = [name for name, _ in TABLES[table].primary_key]
    contents = {}
    for row in backend.scan(table):
        key = tuple(row[name] for name in key_names)
        contents[key] = {k: v for k, v in row.items() if k not in VOLATILE_COLUMNS}
    return contents


def all_contents(backend):
    from sms_receipts.storage.schema import TABLES

    return {table: table_contents(backend, table) for table in TABLES}


def report(
    phone="13800000001",
    biz_id="900619746936498440^0",
    success=True,
    err_code="DELIVERED",
    report_time="2026-11-25 10:00:05",
    **extra,
):
    return {
        "phone_number": phone,
        "send_time": "2026-11-25 10:00:00",
        "report_time": report_time,
        "success": success,
        "err_code": err_code,
        "err_msg": "用户接收成功" if success else "用户接收失败",
        "sms_size": "1",
        "biz_id": biz_id,
        "out_id": "order-1",
        **extra,
    }
