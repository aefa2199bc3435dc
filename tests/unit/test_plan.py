"""The storage plan (plan_writes): rows, conditions, de-duplication and batches. Pure: no backend."""

from __future__ import annotations

import json

from sms_receipts.parsing import decode_http_body
from sms_receipts.storage import DEAD_LETTER, LEDGER
from sms_receipts.storage.plan import InsertOnce, SupersedeIfNewer, order_key, plan_writes, split_batches

from helpers import load_event, load_json

RECEIVED_AT = 1_700_000_000_000


def items_of(body) -> list:
    return decode_http_body(json.dumps(body).encode("utf-8")).items


def report(phone: str, report_time: str, **fields) -> dict:
    base = load_json("http/sms_report_single.json")[0]
    return {**base, "phone_number": phone, "report_time": report_time, **fields}


def test_a_report_plans_an_insert_once_ledger_row_and_a_supersede_if_newer_state_row():
    [item] = decode_http_body(load_event("http/sms_report_single.json")).items
    plan = plan_writes([item], [], RECEIVED_AT, write_id="w1")
    ledger, state = plan.rows
    assert ledger.table == LEDGER and isinstance(ledger.condition, InsertOnce)
    assert dict(ledger.columns)["write_id"] == "w1" and dict(ledger.columns)["received_at"] == RECEIVED_AT
    assert isinstance(state.condition, SupersedeIfNewer)
    assert state.condition.order_key == dict(state.columns)["order_key"]
    assert dict(state.columns)["winner"] == item.idempotency_key
    assert [unit.rows for unit in plan.units] == [[ledger, state]]


def test_a_reply_has_a_ledger_row_only():
    items = decode_http_body(load_event("http/sms_up_batch.json")).items
    plan = plan_writes(items, [], RECEIVED_AT)
    assert {row.table for row in plan.rows} == {LEDGER} and len(plan.rows) == len(items)


def test_a_repeated_item_is_planned_once_and_marked_a_duplicate():
    [item] = decode_http_body(load_event("http/sms_report_single.json")).items
    plan = plan_writes([item, item], [], RECEIVED_AT)
    assert len(plan.rows) == 2  # one ledger row, one state row
    assert plan.units[1].duplicate_of == 0 and plan.units[1].rows == []


def test_within_one_call_the_newer_report_wins_the_state_row():
    older, newer = items_of(
        [report("13800000001", "2026-11-25 10:00:05"), report("13800000001", "2026-11-25 10:00:09")]
    )
    plan = plan_writes([older, newer], [], RECEIVED_AT)
    states = [row for row in plan.rows if row.table != LEDGER]
    assert len(states) == 1 and dict(states[0].columns)["winner"] == newer.idempotency_key
    assert plan.units[0].superseded and not plan.units[1].superseded
    assert len([row for row in plan.rows if row.table == LEDGER]) == 2  # both are in the ledger


def test_the_order_key_sorts_as_version_then_winner():
    assert order_key(9, "b") < order_key(10, "a") < order_key(10, "b")
    assert len(order_key(0, "")) == 20  # 19 digits and the colon


def test_the_same_rejected_bytes_are_dead_lettered_once():
    rejected = decode_http_body(b"not json").rejected
    plan = plan_writes([], rejected * 2, RECEIVED_AT)
    assert [row.table for row in plan.rows] == [DEAD_LETTER]
    assert isinstance(plan.rows[0].condition, InsertOnce) and plan.units[1].duplicate_of == 0


def test_batches_hold_at_most_200_rows_in_plan_order():
    items = items_of([report(f"138{n:08d}", "2026-11-25 10:00:05") for n in range(250)])
    plan = plan_writes(items, [], RECEIVED_AT)
    batches = split_batches(plan.rows)
    assert [len(batch) for batch in batches] == [200, 200, 100]
    assert [row for batch in batches for row in batch] == plan.rows
