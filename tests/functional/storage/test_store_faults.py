"""Faults: with 30 % of requests failing (busy, timeouts, lost responses) everything is stored exactly
once within the deadline, or reported failed when the deadline is too short."""

from __future__ import annotations

import time

from sms_receipts.storage import DELIVERY_STATE, LEDGER, Outcome, ReceiptStore
from sms_receipts.storage.tablestore import TablestoreBackend, make_client

from store_support import parse, report, table_contents


def _faulty_store(emulator, backend, socket_timeout=0.3):
    info = emulator.connection_info()
    client = make_client(
        info["endpoint"],
        info["instance_name"],
        info["access_key_id"],
        info["access_key_secret"],
        socket_timeout=socket_timeout,
    )
    return ReceiptStore(TablestoreBackend(client, backend.table_prefix))


def test_thirty_percent_faults_store_everything_exactly_once(emulator, backend):
    emulator.faults.reseed(30)
    emulator.faults.lost_response_hang = 0.5  # longer than the client's 0.3 s: a read timeout
    emulator.faults.set(server_busy=0.1, timeout=0.1, lost_response=0.1)
    store = _faulty_store(emulator, backend)
    items, _ = parse([report(phone=f"138{i:08d}") for i in range(500)])
    result = store.write(items, deadline=time.monotonic() + 60)
    emulator.faults.clear()
    assert result.confirmed, result.errors
    assert result.attempts > 1  # faults did happen and were retried
    assert result.counts["stored"] == 500
    ledger = table_contents(backend, LEDGER)
    assert set(ledger) == {(item.entity_key, item.idempotency_key) for item in items}
    assert len(table_contents(backend, DELIVERY_STATE)) == 500

    # and a redelivery of the same push afterwards changes nothing
    again = ReceiptStore(backend).write(items)
    assert again.counts["duplicate"] == 500


def test_lost_responses_are_recognised_as_our_own_writes(emulator, backend):
    emulator.faults.reseed(7)
    emulator.faults.lost_response_hang = 0.0  # applied, then the connection drops
    emulator.faults.set(api="BatchWriteRow", lost_response=0.5)
    store = _faulty_store(emulator, backend)
    items, _ = parse([report(phone=f"139{i:08d}") for i in range(50)])
    result = store.write(items, deadline=time.monotonic() + 30)
    emulator.faults.clear()
    assert result.confirmed
    # every write landed once; those whose answer was lost are still reported as stored, not duplicate
    assert result.counts["stored"] == 50 and result.counts["duplicate"] == 0


def test_a_deadline_too_short_reports_failed_not_stored(emulator, backend):
    emulator.faults.slow_delay = 0.5
    emulator.faults.set(api="BatchWriteRow", slow=1.0)
    store = _faulty_store(emulator, backend, socket_timeout=5)
    items, _ = parse([report(phone=f"137{i:08d}") for i in range(10)])
    started = time.monotonic()
    result = store.write(items, deadline=started + 0.2)
    elapsed = time.monotonic() - started
    emulator.faults.clear()
    assert [o.outcome for o in result.outcomes] == [Outcome.FAILED] * 10
    assert "deadline" in result.outcomes[0].error or "NetworkError" in result.outcomes[0].error
    assert elapsed < 1.0  # the per-request timeout follows the deadline, not the 5 s socket timeout
