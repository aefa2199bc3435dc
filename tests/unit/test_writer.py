"""The writer (ReceiptStore.write) against an in-memory backend: retries, read-back, deadline."""

from __future__ import annotations

import json
import random

from sms_receipts.parsing import decode_http_body
from sms_receipts.storage import DEAD_LETTER, DELIVERY_STATE, LEDGER, Outcome, ReceiptStore

from .memory_backend import BUSY, LOST, TIMEOUT, MemoryBackend
from helpers import load_event

RECEIVED_AT = 1_700_000_000_000


def reports(count: int, *, start: int = 0):
    items = [
        {
            "phone_number": f"138{n:08d}",
            "send_time": "2026-11-25 10:00:00",
            "report_time": "2026-11-25 10:00:05",
            "success": True,
            "err_code": "DELIVERED",
            "err_msg": "用户接收成功",
            "sms_size": "1",
            "biz_id": f"{900000 + n}^0",
        }
        for n in range(start, start + count)
    ]
    decoded = decode_http_body(json.dumps(items).encode("utf-8"))
    assert not decoded.rejected
    return decoded.items


def store_for(backend: MemoryBackend) -> ReceiptStore:
    return ReceiptStore(backend, rng=random.Random(0), clock=backend.clock)


def write(backend: MemoryBackend, items, rejected=(), budget: float = 30.0):
    return store_for(backend).write(items, rejected, deadline=backend.clock() + budget, received_at=RECEIVED_AT)


def outcomes(result) -> list[str]:
    return [o.outcome.value for o in result.outcomes]


def test_a_first_write_stores_and_a_second_is_a_duplicate():
    backend = MemoryBackend()
    items = reports(2)
    first = write(backend, items)
    assert outcomes(first) == ["stored", "stored"] and first.requests == 1 and first.attempts == 1
    again = write(backend, items)
    assert outcomes(again) == ["duplicate", "duplicate"] and again.confirmed


def test_only_the_rows_that_failed_retryably_are_retried():
    backend = MemoryBackend()
    items = reports(2)  # 4 rows: 2 ledger, 2 delivery state
    backend.script_rows(None, BUSY, None, TIMEOUT)
    result = write(backend, items)
    assert outcomes(result) == ["stored", "stored"]
    assert [len(batch) for batch in backend.writes] == [4, 2]
    assert backend.writes[1] == [backend.writes[0][1], backend.writes[0][3]]
    assert result.requests == 2 and result.attempts == 2


def test_a_row_the_service_refuses_for_good_dead_letters_its_item_without_a_retry():
    backend = MemoryBackend()
    items = reports(2)
    backend.script_rows("OTSParameterInvalid")
    result = write(backend, items)
    assert outcomes(result) == ["dead_lettered", "stored"] and result.confirmed
    [dead_letter] = backend.tables[DEAD_LETTER].values()
    assert json.loads(dead_letter["raw"]) == items[0].raw  # the raw item, to replay
    assert "OTSParameterInvalid" in dead_letter["reason"]
    assert [len(batch) for batch in backend.writes] == [4, 1]  # no retry of the refused row


def test_an_error_about_the_deployment_fails_the_item_and_dead_letters_nothing():
    backend = MemoryBackend()
    backend.script_rows("OTSNoPermissionAccess")
    result = write(backend, reports(2))
    assert outcomes(result) == ["failed", "stored"] and not result.confirmed
    assert "OTSNoPermissionAccess" in result.outcomes[0].error
    assert DEAD_LETTER not in backend.tables and len(backend.writes) == 1


def test_a_request_refused_whole_is_resent_a_unit_per_request_to_find_the_item():
    backend = MemoryBackend()
    backend.script_requests("OTSParameterInvalid", None, "OTSParameterInvalid", None)
    result = write(backend, reports(3))
    # The whole request, then each unit (ledger and state) alone: the second one is refused.
    assert [len(batch) for batch in backend.writes] == [6, 2, 2, 2, 1]
    assert outcomes(result) == ["stored", "dead_lettered", "stored"] and result.confirmed


def test_a_units_rows_travel_in_one_request_ledger_first():
    backend = MemoryBackend()
    write(backend, reports(150))  # 300 rows: 150 units of two
    assert [len(batch) for batch in backend.writes] == [200, 100]
    for batch in backend.writes:
        assert [row.table for row in batch] == [LEDGER, DELIVERY_STATE] * (len(batch) // 2)


def test_batches_go_out_concurrently_when_allowed():
    backend = MemoryBackend()
    store = ReceiptStore(backend, rng=random.Random(0), clock=backend.clock, concurrency=4)
    result = store.write(reports(450), deadline=backend.clock() + 30, received_at=RECEIVED_AT)
    store.close()
    assert outcomes(result) == ["stored"] * 450 and result.requests == 5
    assert sorted(len(batch) for batch in backend.writes) == [100, 200, 200, 200, 200]


def test_a_lost_response_is_read_back_and_reported_as_stored():
    backend = MemoryBackend()
    backend.script_requests(LOST)  # the rows land, the answer does not come
    result = write(backend, reports(1))
    assert outcomes(result) == ["stored"]
    assert len(backend.writes) == 2  # the retry meets its own rows: condition failed
    assert {table for table, _ in backend.gets} >= {LEDGER}  # and reads them back


def test_a_lost_response_on_rows_another_call_wrote_is_a_duplicate():
    backend = MemoryBackend()
    items = reports(1)
    write(backend, items)
    backend.script_requests(LOST)
    result = write(backend, items)
    assert outcomes(result) == ["duplicate"]
    assert backend.gets  # read back: the stored write_id is the first call's, not this one's


def test_a_request_that_fails_whole_and_retryably_is_sent_again():
    backend = MemoryBackend()
    backend.script_requests(TIMEOUT, BUSY)
    result = write(backend, reports(3))
    assert outcomes(result) == ["stored"] * 3
    assert [len(batch) for batch in backend.writes] == [6, 6, 6] and result.attempts == 3


def test_the_writer_gives_up_at_the_deadline_and_reports_failed():
    backend = MemoryBackend(latency=1.0)
    backend.script_rows(*[BUSY] * 1000)
    result = write(backend, reports(2), budget=5.0)
    assert outcomes(result) == ["failed", "failed"]
    assert all("not confirmed before the deadline" in o.error and BUSY in o.error for o in result.outcomes)
    assert backend.clock() <= 1000.0 + 5.0 + 1.0  # no request started after the deadline
    assert all(0 < timeout <= 5.0 for timeout in backend.timeouts)  # each request got what was left


def test_no_request_is_sent_when_the_deadline_has_passed():
    backend = MemoryBackend()
    result = write(backend, reports(1), budget=0.0)
    assert outcomes(result) == ["failed"] and backend.writes == []


def test_writes_go_in_batches_of_at_most_200_rows():
    backend = MemoryBackend()
    result = write(backend, reports(450))  # 900 rows
    assert [len(batch) for batch in backend.writes] == [200, 200, 200, 200, 100]
    assert result.requests == 5 and outcomes(result) == ["stored"] * 450


def test_an_older_report_after_a_newer_one_is_stale_and_leaves_the_state():
    backend = MemoryBackend()
    [newer] = decode_http_body(load_event("http/sms_report_single.json")).items
    older_body = json.loads(load_event("http/sms_report_single.json"))
    older_body[0]["report_time"] = "2021-09-06 15:49:56"
    [older] = decode_http_body(json.dumps(older_body).encode("utf-8")).items
    assert outcomes(write(backend, [newer])) == ["stored"]
    assert outcomes(write(backend, [older])) == ["stale"]
    [state] = [row for table, rows in backend.tables.items() if table != LEDGER for row in rows.values()]
    assert state["winner"] == newer.idempotency_key


def test_a_rejected_item_is_dead_lettered_once():
    backend = MemoryBackend()
    rejected = decode_http_body(b"not json").rejected
    assert [o.outcome for o in write(backend, [], rejected).outcomes] == [Outcome.DEAD_LETTERED]
    assert [o.outcome for o in write(backend, [], rejected).outcomes] == [Outcome.DEAD_LETTERED]
    assert sum(len(rows) for rows in backend.tables.values()) == 1
