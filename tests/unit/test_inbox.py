"""The inbox: spilling what could not be stored inline, and the drain that finishes it (pure parts
and the writer against the in-memory backend)."""

from __future__ import annotations

import json
import random

from sms_receipts.parsing import MessageType, RejectedItem, Source, decode_http_body
from sms_receipts.storage import DEAD_LETTER, DELIVERY_STATE, LEDGER, ReceiptStore
from sms_receipts.storage.inbox import MAX_PAYLOAD_BYTES, Drain, entry_rows, read_entry, write_or_spill
from sms_receipts.storage.schema import INBOX

from .memory_backend import MemoryBackend
from .test_writer import RECEIVED_AT, reports


def store_for(backend: MemoryBackend) -> ReceiptStore:
    return ReceiptStore(backend, rng=random.Random(0), clock=backend.clock, sleep=backend.clock.sleep)


def spill(backend: MemoryBackend, items, rejected=()):
    now = backend.clock()
    return write_or_spill(
        store_for(backend),
        items,
        rejected,
        inline_deadline=now + 0.3,
        deadline=now + 1.0,
        received_at=RECEIVED_AT,
        clock=backend.clock,
    )


def test_an_entry_gives_back_the_same_receipts_and_rejected_items():
    items = reports(3)
    bad = RejectedItem("item 3 is a JSON int", b"\xff\x00not json", Source.HTTP, MessageType.SMS_REPORT, None, 3)
    [row] = entry_rows(items, [bad], received_at=RECEIVED_AT)
    entry = read_entry({**dict(row.primary_key), **dict(row.columns)})
    assert [i.idempotency_key for i in entry.decoded.items] == [i.idempotency_key for i in items]
    assert [i.raw_json for i in entry.decoded.items] == [i.raw_json for i in items]
    assert entry.decoded.rejected == [bad] and entry.received_at == RECEIVED_AT and entry.items == 4


def test_the_same_content_makes_the_same_entry_and_a_large_one_is_split():
    items = reports(3)
    assert entry_rows(items, [], received_at=1)[0].primary_key == entry_rows(items, [], received_at=2)[0].primary_key
    many = reports(9000)  # ~2.5 MB of JSON
    rows = entry_rows(many, [], received_at=RECEIVED_AT)
    assert len(rows) == 2 and all(len(dict(r.columns)["payload"]) <= MAX_PAYLOAD_BYTES for r in rows)
    assert sum(dict(r.columns)["items"] for r in rows) == 9000


def test_what_is_not_stored_inline_is_spilled_then_drained_once():
    backend = MemoryBackend(latency=0.05, unavailable={LEDGER, DELIVERY_STATE})
    items = reports(5)
    written = spill(backend, items)
    assert written.confirmed and written.spilled == 5 and not written.result.confirmed
    assert LEDGER not in backend.tables and len(backend.tables[INBOX]) == 1

    backend.unavailable.clear()
    report = Drain(backend, store_for(backend), clock=backend.clock).run(budget_seconds=30)
    assert (report.entries, report.drained, report.left) == (1, 1, 0) and report.outcomes["stored"] == 5
    assert len(backend.tables[LEDGER]) == 5 and len(backend.tables[DELIVERY_STATE]) == 5
    assert backend.tables[INBOX] == {}
    stored = next(iter(backend.tables[LEDGER].values()))
    assert stored["received_at"] == RECEIVED_AT  # as the push was received, not as drained
    again = Drain(backend, store_for(backend), clock=backend.clock).run(budget_seconds=30)
    assert again.entries == 0


def test_a_crash_between_storing_and_deleting_an_entry_stores_nothing_twice():
    backend = MemoryBackend(latency=0.05, unavailable={LEDGER, DELIVERY_STATE})
    spill(backend, reports(4))
    backend.unavailable = {INBOX}  # the drain stores the items, then cannot delete the entry
    first = Drain(backend, store_for(backend), clock=backend.clock).run(budget_seconds=5)
    assert (first.drained, first.left) == (0, 1) and first.outcomes["stored"] == 4
    backend.unavailable.clear()
    second = Drain(backend, store_for(backend), clock=backend.clock).run(budget_seconds=5)
    assert second.drained == 1 and second.outcomes == {"duplicate": 4}
    assert len(backend.tables[LEDGER]) == 4 and backend.tables[INBOX] == {}


def test_an_entry_that_cannot_be_stored_stays_for_the_next_run():
    backend = MemoryBackend(latency=0.05, unavailable={LEDGER, DELIVERY_STATE})
    spill(backend, reports(2))
    report = Drain(backend, store_for(backend), clock=backend.clock).run(budget_seconds=2)
    assert (report.drained, report.left) == (0, 1) and report.errors
    assert len(backend.tables[INBOX]) == 1


def test_when_the_spill_fails_too_the_push_is_not_confirmed():
    backend = MemoryBackend(latency=0.05, unavailable={LEDGER, DELIVERY_STATE, INBOX})
    written = spill(backend, reports(2))
    assert not written.confirmed and written.errors


def test_only_the_unconfirmed_part_is_spilled():
    backend = MemoryBackend()
    items = reports(3)
    backend.script_rows(None, None, "OTSServerBusy", None, None, None)  # item 1's ledger row, then no retry
    backend.latency = 0.3  # past the inline deadline after one request
    written = spill(backend, items)
    assert written.confirmed and written.spilled == 1
    [entry] = [read_entry({**dict(k), **v}) for k, v in backend.tables[INBOX].items()]
    assert [i.idempotency_key for i in entry.decoded.items] == [items[1].idempotency_key]


def test_an_item_over_a_primary_key_limit_is_dead_lettered_before_any_write():
    body = [json.loads(reports(1)[0].raw_json)]
    body[0]["biz_id"] = "9" * 2000
    [item] = decode_http_body(json.dumps(body).encode()).items
    backend = MemoryBackend()
    result = store_for(backend).write([item], deadline=backend.clock() + 5, received_at=RECEIVED_AT)
    assert [o.outcome.value for o in result.outcomes] == ["dead_lettered"] and result.confirmed
    [dead] = backend.tables[DEAD_LETTER].values()
    assert "1024-byte limit" in dead["reason"] and json.loads(dead["raw"])["biz_id"] == "9" * 2000
    assert LEDGER not in backend.tables


def test_a_push_too_large_for_its_deadline_stops_between_chunks_and_spills_the_rest_early():
    backend = MemoryBackend(latency=0.1)  # a chunk of 400 receipts: 4 requests, 0.4 s
    items = reports(1000)
    now = backend.clock()
    written = write_or_spill(
        store_for(backend), items, inline_deadline=now + 0.5, deadline=now + 1.0, clock=backend.clock
    )
    assert written.confirmed and written.spilled == 600  # the second chunk would not have fit
    assert len(backend.tables[LEDGER]) == 400 and len(backend.writes) == 4 + 1  # four, then one spill
    [entry] = [read_entry({**dict(k), **v}) for k, v in backend.tables[INBOX].items()]
    assert [i.idempotency_key for i in entry.decoded.items] == [i.idempotency_key for i in items[400:]]
