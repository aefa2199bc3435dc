"""The store's write path: conditions, outcomes, batching and idempotency, through the real SDK."""

from __future__ import annotations

import math
import random
import time

from sms_receipts.parsing import MessageType
from sms_receipts.storage import DEAD_LETTER, DELIVERY_STATE, LEDGER, RECEIPT_STATE, Outcome, ReceiptStore
from sms_receipts.storage.tablestore import TablestoreBackend

from store_support import all_contents, parse, report, table_contents


def outcomes(result):
    return [o.outcome for o in result.outcomes]


def test_new_receipts_are_stored_in_ledger_and_state(store, backend):
    items, rejected = parse(
        [report(phone="13800000001"), report(phone="13800000002", success=False, err_code="UNDELIV")]
    )
    result = store.write(items, rejected)
    assert outcomes(result) == [Outcome.STORED, Outcome.STORED]
    ledger = table_contents(backend, LEDGER)
    assert set(ledger) == {(item.entity_key, item.idempotency_key) for item in items}
    first = ledger[("SmsReport:900619746936498440^0|13800000001", items[0].idempotency_key)]
    assert first["message_type"] == "SmsReport"
    assert first["source"] == "http"
    assert first["raw"] == items[0].raw_json
    state = table_contents(backend, DELIVERY_STATE)
    assert state[("900619746936498440^0", "13800000002")]["status"] == "failed"
    assert state[("900619746936498440^0", "13800000001")]["status"] == "delivered"
    assert state[("900619746936498440^0", "13800000001")]["winner"] == items[0].idempotency_key


def test_a_repeated_push_is_a_duplicate_and_changes_nothing(store, backend):
    items, _ = parse([report(phone=f"1380000{i:04d}") for i in range(5)])
    assert outcomes(store.write(items)) == [Outcome.STORED] * 5
    before = all_contents(backend)
    assert outcomes(store.write(items)) == [Outcome.DUPLICATE] * 5
    assert all_contents(backend) == before


def test_duplicates_within_one_push_are_written_once(store, backend, emulator):
    items, _ = parse([report(), report(), report(phone="13800000009")])
    result = store.write(items)
    assert outcomes(result) == [Outcome.STORED, Outcome.DUPLICATE, Outcome.STORED]
    assert len(table_contents(backend, LEDGER)) == 2


def test_an_older_report_arriving_late_does_not_overwrite_a_newer_one(store, backend):
    newer, _ = parse([report(success=False, err_code="UNDELIV", report_time="2026-11-25 10:05:00")])
    older, _ = parse([report(success=True, report_time="2026-11-25 10:00:05")])
    assert outcomes(store.write(newer)) == [Outcome.STORED]
    assert outcomes(store.write(older)) == [Outcome.STALE]
    state = table_contents(backend, DELIVERY_STATE)[("900619746936498440^0", "13800000001")]
    assert state["status"] == "failed" and state["winner"] == newer[0].idempotency_key
    # the stale report is still kept in the ledger: nothing is lost
    assert (older[0].entity_key, older[0].idempotency_key) in table_contents(backend, LEDGER)


def test_a_newer_report_replaces_the_state(store, backend):
    older, _ = parse([report(success=True, report_time="2026-11-25 10:00:05")])
    newer, _ = parse([report(success=False, err_code="UNDELIV", report_time="2026-11-25 10:05:00")])
    store.write(older)
    assert outcomes(store.write(newer)) == [Outcome.STORED]
    assert table_contents(backend, DELIVERY_STATE)[("900619746936498440^0", "13800000001")]["status"] == "failed"


def test_two_reports_for_one_message_in_one_push_keep_the_newer(store, backend):
    items, _ = parse(
        [
            report(success=False, err_code="UNDELIV", report_time="2026-11-25 10:05:00"),
            report(success=True, report_time="2026-11-25 10:00:05"),
        ]
    )
    assert outcomes(store.write(items)) == [Outcome.STORED, Outcome.STALE]
    assert table_contents(backend, DELIVERY_STATE)[("900619746936498440^0", "13800000001")]["status"] == "failed"


def test_same_time_ties_resolve_by_rank_then_key(store, backend):
    delivered, _ = parse([report(success=True, report_time="2026-11-25 10:00:05")])
    failed, _ = parse([report(success=False, err_code="UNDELIV", report_time="2026-11-25 10:00:05")])
    store.write(failed)
    assert outcomes(store.write(delivered)) == [Outcome.STALE]  # a failure outranks a success
    assert table_contents(backend, DELIVERY_STATE)[("900619746936498440^0", "13800000001")]["status"] == "failed"


def test_audits_keep_the_final_result_over_approving(store, backend):
    approving = {
        "sign_name": "阿里云",
        "sign_status": "approving",
        "orderId": "205100",
        "create_date": "2026-11-20 09:00:00",
    }
    approved = {**approving, "sign_status": "approved"}
    items_approved, _ = parse([approved], MessageType.SIGN_SMS_REPORT)
    items_approving, _ = parse([approving], MessageType.SIGN_SMS_REPORT)
    assert outcomes(store.write(items_approved)) == [Outcome.STORED]
    assert outcomes(store.write(items_approving)) == [Outcome.STALE]
    state = table_contents(backend, RECEIPT_STATE)[("SignSmsReport:阿里云",)]
    assert state["status"] == "approved" and state["is_final"] is True


def test_replies_have_no_state_row(store, backend):
    items, _ = parse(
        [
            {
                "phone_number": "13800000001",
                "content": "退订",
                "send_time": "2026-11-25 10:00:00",
                "dest_code": "1234",
                "sequence_id": 1234567890,
            }
        ],
        MessageType.SMS_UP,
    )
    assert outcomes(store.write(items)) == [Outcome.STORED]
    assert len(table_contents(backend, LEDGER)) == 1
    assert table_contents(backend, RECEIPT_STATE) == {} and table_contents(backend, DELIVERY_STATE) == {}


def test_rejected_items_are_dead_lettered_once_with_raw_bytes(store, backend):
    items, rejected = parse([report(), {"biz_id": "1"}])
    assert len(rejected) == 1
    result = store.write(items, rejected)
    assert outcomes(result) == [Outcome.STORED, Outcome.DEAD_LETTERED]
    assert outcomes(store.write(items, rejected)) == [Outcome.DUPLICATE, Outcome.DEAD_LETTERED]
    dead = list(table_contents(backend, DEAD_LETTER).values())
    assert len(dead) == 1
    assert bytes(dead[0]["raw"]) == rejected[0].raw
    assert "success" in dead[0]["reason"] and dead[0]["source"] == "http"  # phone_number is optional


def test_requests_equal_ceil_rows_over_200(store, emulator):
    for count in (1, 100, 1000):
        items, _ = parse([report(phone=f"138{i:08d}", biz_id=f"b{count}") for i in range(count)])
        emulator.reset_counters()
        result = store.write(items)
        rows = 2 * count  # a ledger row and a state row each
        assert result.requests == math.ceil(rows / 200) == emulator.requests["BatchWriteRow"]
        assert result.counts["stored"] == count


def test_a_missing_table_fails_every_item_with_the_service_error(emulator):
    info = emulator.connection_info()
    from sms_receipts.storage.tablestore import make_client

    client = make_client(info["endpoint"], info["instance_name"], info["access_key_id"], info["access_key_secret"])
    store = ReceiptStore(TablestoreBackend(client, "never_created_"))
    items, _ = parse([report()])
    result = store.write(items, deadline=time.monotonic() + 2)
    assert outcomes(result) == [Outcome.FAILED]
    assert "OTSObjectNotExist" in result.outcomes[0].error
    assert not result.confirmed


def test_any_order_and_any_split_leaves_the_same_tables(emulator, backend):
    receipts = [
        report(
            phone=f"1380000{i % 4:04d}",
            success=i % 3 != 0,
            err_code="DELIVERED" if i % 3 else "UNDELIV",
            report_time=f"2026-11-25 10:0{i % 7}:00",
        )
        for i in range(24)
    ] + [
        {"sign_name": "签名", "sign_status": s, "orderId": "1", "create_date": "2026-11-20 09:00:00"}
        for s in ("approving", "approved")
    ]
    reference_items = []
    for r in receipts:
        message_type = MessageType.SIGN_SMS_REPORT if "sign_name" in r else MessageType.SMS_REPORT
        reference_items.extend(parse([r], message_type)[0])
    ReceiptStore(backend).write(reference_items)
    expected = all_contents(backend)

    rng = random.Random(20261125)
    info = emulator.connection_info()
    from sms_receipts.storage.tablestore import make_client

    for trial in range(4):
        client = make_client(info["endpoint"], info["instance_name"], info["access_key_id"], info["access_key_secret"])
        other = TablestoreBackend(client, f"trial{trial}_{rng.randrange(10**6)}_")
        other.create_missing_tables()
        shuffled = reference_items * rng.randint(1, 3)
        rng.shuffle(shuffled)
        position = 0
        while position < len(shuffled):
            size = rng.randint(1, 9)
            ReceiptStore(other).write(shuffled[position : position + size])
            position += size
        assert all_contents(other) == expected


def test_expected_condition_failures_log_no_errors(store, caplog):
    items, _ = parse([report()])
    store.write(items)
    with caplog.at_level("DEBUG"):
        result = store.write(items)
    assert outcomes(result) == [Outcome.DUPLICATE]
    assert [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []


def test_the_sdk_retries_nothing_itself(backend):
    from tablestore.retry import NoRetryPolicy

    assert isinstance(backend.client.retry_policy, NoRetryPolicy)
