"""The push log line says how many rows took the SDK's slow serializer: 0 for a normal push."""

from __future__ import annotations

import json

from sms_receipts.storage import plainbuffer
from sms_receipts_dev.testing.events import http_event

from http_support import TOKEN, context


def report(phone: str) -> dict:
    return {
        "phone_number": phone,
        "send_time": "2026-11-25 10:00:00",
        "report_time": "2026-11-25 10:00:05",
        "success": True,
        "err_code": "DELIVERED",
        "err_msg": "",
        "sms_size": "1",
        "biz_id": "900619746936498440^0",
        "out_id": "o-1",
    }


def push_lines(index, caplog, body: str) -> list[dict]:
    with caplog.at_level("INFO", logger="sms_receipts"):
        response = index.handler(http_event(body, path="/SmsReport", query={"token": TOKEN}), context())
    assert response["statusCode"] == 200
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "sms_receipts.http"]


def test_a_normal_push_logs_no_serializer_fallback(index, backend, caplog):
    assert plainbuffer.is_installed()  # the function's store installed it
    (line,) = push_lines(index, caplog, json.dumps([report("13800000001"), report("13800000002")]))
    assert line["event"] == "push" and line["stored"] == 2
    assert line["serializer_fallbacks"] == 0


def test_rows_that_fall_back_are_counted_in_the_push_line(index, backend, caplog, monkeypatch):
    def unsupported(primary_key, attribute_columns):
        raise plainbuffer._Unsupported

    monkeypatch.setattr(plainbuffer, "_write_row", unsupported)  # as if every row were one it cannot write
    (line,) = push_lines(index, caplog, json.dumps([report("13800000003")]))
    assert line["stored"] == 1
    assert line["serializer_fallbacks"] == 2  # the ledger row and the state row, written by the SDK's own
