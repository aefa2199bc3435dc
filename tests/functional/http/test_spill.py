"""The bounded answer: what the HTTP function cannot store inline is spilled to the inbox and
answered 200; the drain (the MNS function's timer) stores it once; Tablestore's limits never turn a
push into a 5xx."""

from __future__ import annotations

import json
import logging

from sms_receipts.storage import DEAD_LETTER, DELIVERY_STATE, LEDGER
from sms_receipts.storage.schema import INBOX
from sms_receipts_dev.testing import events
from sms_receipts_dev.testing.fc import fc_context

from function_support import load_function
from test_http_function import ACCEPTED, call, report, rows


def push_of(count: int) -> str:
    return json.dumps([report(phone=f"138{i:08d}", biz_id=f"b{i // 50}") for i in range(count)])


def drain(backend):
    index = load_function("mns_receipt")
    return index.handler(events.timer_event("drain", trigger_name="drain"), fc_context("drain"))


def test_a_push_too_big_to_store_inline_is_spilled_answered_200_and_drained_once(index, backend, reconfigure, caplog):
    # 10 ms for the inline write: 500 receipts cannot make it; the spill gets the rest of 2 s.
    reconfigure(SMS_RECEIPTS_HTTP_DEADLINE_MS="2000", SMS_RECEIPTS_HTTP_SPILL_MS="1990")
    body = push_of(500)
    with caplog.at_level(logging.INFO, logger="sms_receipts"):
        assert call(index, body) == (200, ACCEPTED)
    [line] = [json.loads(r.getMessage()) for r in caplog.records if r.name == "sms_receipts.http"]
    assert line["spilled"] > 0 and line["status"] == 200
    assert line["stored"] + line["spilled"] == 500 and line["failed"] == 0
    entries = rows(backend, INBOX)
    assert len(entries) == 1 and entries[0]["items"] == line["spilled"]

    report_ = drain(backend)
    assert report_["drained"] == 1 and report_["left"] == 0
    assert rows(backend, INBOX) == []
    assert len(rows(backend, LEDGER)) == 500 and len(rows(backend, DELIVERY_STATE)) == 500
    # The same push again, inline this time: every receipt a duplicate, nothing new anywhere.
    reconfigure(SMS_RECEIPTS_HTTP_DEADLINE_MS="60000")
    assert call(load_function("http_receipt"), body) == (200, ACCEPTED)
    assert len(rows(backend, LEDGER)) == 500 and rows(backend, INBOX) == []


def test_when_even_the_spill_cannot_be_confirmed_the_push_answers_500(index, emulator, reconfigure):
    reconfigure(SMS_RECEIPTS_HTTP_DEADLINE_MS="300", SMS_RECEIPTS_HTTP_SPILL_MS="100")
    emulator.faults.set(api="BatchWriteRow", server_busy=1.0)
    try:
        assert call(load_function("http_receipt"), push_of(3))[0] == 500
    finally:
        emulator.faults.clear()


def test_an_item_over_the_primary_key_limit_is_dead_lettered_and_the_push_answers_200(index, backend):
    body = json.loads(push_of(2))
    body[1]["biz_id"] = "9" * 2000  # the delivery state's key: over Tablestore's 1 KB
    assert call(index, json.dumps(body)) == (200, ACCEPTED)
    assert len(rows(backend, LEDGER)) == 1
    [dead] = rows(backend, DEAD_LETTER)
    assert "1024-byte limit" in dead["reason"] and json.loads(bytes(dead["raw"]))["biz_id"] == "9" * 2000


def test_the_drain_leaves_an_entry_it_cannot_finish_and_finishes_it_later(index, backend, emulator, reconfigure):
    reconfigure(SMS_RECEIPTS_HTTP_DEADLINE_MS="2000", SMS_RECEIPTS_HTTP_SPILL_MS="1990")
    assert call(index, push_of(300)) == (200, ACCEPTED)
    emulator.faults.set(api="BatchWriteRow", server_busy=1.0)
    drain_fn = load_function("mns_receipt")
    context = fc_context("drain")
    context.function.timeout = 6  # the drain gets 3 s: not enough while Tablestore is busy
    try:
        first = drain_fn.handler(events.timer_event("drain", trigger_name="drain"), context)
    finally:
        emulator.faults.clear()
    assert first["drained"] == 0 and first["left"] == 1 and len(rows(backend, INBOX)) == 1
    second = drain(backend)
    assert second["drained"] == 1 and rows(backend, INBOX) == []
    assert len(rows(backend, LEDGER)) == 300
