"""The operator's lookups (`storage.lookups`) and the indexes behind them, on data written by the real
store (the storage factory's `ReceiptStore`) through the real SDK to the emulator.

`create_missing_tables` is checked on a fresh instance and on tables as an earlier version made them
(no predefined columns, no index): the upgrade path `init-tables` takes, repeated.
"""

from __future__ import annotations

import dataclasses
import time
import uuid

import pytest

from sms_receipts import instance
from sms_receipts.parsing import MessageType, Source, decode_items
from sms_receipts.storage import lookups
from sms_receipts.storage import settings as storage_settings
from sms_receipts.storage.schema import BY_OUT_ID, BY_PHONE, DELIVERY_STATE, TABLES
from sms_receipts.storage.sends import SendLog, make_sends

from store_support import report

PHONE = "13800000001"


def receipts(*reports, source=Source.HTTP, message_type=MessageType.SMS_REPORT):
    result = decode_items(list(reports), message_type, source)
    return result.items, result.rejected


@pytest.fixture
def storage(storage_env):
    """The instance's storage, on fresh tables (indexes included) made by `create_missing_tables`."""
    return instance.current().storage()


def write(storage, *reports, source=Source.HTTP, received_at=None):
    items, rejected = receipts(*reports, source=source)
    result = storage.store.write(items, rejected, received_at=received_at)
    assert result.confirmed, result.errors


def old_tables() -> dict:
    """The schema as versions before the lookups created it: keys only."""
    return {name: dataclasses.replace(table, defined_columns=(), indexes=()) for name, table in TABLES.items()}


# ---- schema: a fresh instance, then an older one ---------------------------------------------------


def test_a_fresh_instance_gets_every_table_with_its_predefined_columns_and_indexes(storage_env, fresh_instance):
    prefix = f"f{uuid.uuid4().hex[:8]}_"
    backend = fresh_instance({**storage_env, storage_settings.ENV_TABLE_PREFIX: prefix}).storage().backend
    created = backend.create_missing_tables()
    assert created == [
        prefix + name for table in TABLES.values() for name in (table.name, *(index.name for index in table.indexes))
    ]
    described = backend.client.describe_table(prefix + DELIVERY_STATE)
    assert described.table_meta.defined_columns == list(TABLES[DELIVERY_STATE].defined_columns)
    assert {(i.index_name, tuple(i.primary_key_names)) for i in described.secondary_indexes} == {
        (prefix + BY_PHONE, ("phone_number", "biz_id")),
        (prefix + BY_OUT_ID, ("out_id", "biz_id", "phone_number")),
    }
    assert backend.create_missing_tables() == []  # safe to repeat


def test_tables_of_an_earlier_version_get_the_columns_and_indexes_and_keep_their_rows(storage_env, fresh_instance):
    env = {**storage_env, storage_settings.ENV_TABLE_PREFIX: f"u{uuid.uuid4().hex[:8]}_"}
    storage = fresh_instance(env).storage()
    storage.backend.create_missing_tables(old_tables())
    write(storage, report(phone=PHONE, biz_id="old-send"))  # written before the upgrade
    before = storage.backend.client.describe_table(storage.backend.table_name(DELIVERY_STATE))
    assert before.table_meta.defined_columns == [] and before.secondary_indexes == []

    created = storage.backend.create_missing_tables()
    assert created == [storage.backend.table_name(index.name) for table in TABLES.values() for index in table.indexes]
    after = storage.backend.client.describe_table(storage.backend.table_name(DELIVERY_STATE))
    assert after.table_meta.defined_columns == list(TABLES[DELIVERY_STATE].defined_columns)
    assert [state.biz_id for state in lookups.by_phone(storage.backend, PHONE)] == ["old-send"]  # the rows so far
    write(storage, report(phone=PHONE, biz_id="new-send", report_time="2026-11-26 10:00:05"))
    assert [state.biz_id for state in lookups.by_phone(storage.backend, PHONE)] == ["new-send", "old-send"]
    assert storage.backend.create_missing_tables() == []  # repeated: nothing left to do
    assert storage.backend.create_missing_tables(old_tables()) == []  # and an older init-tables changes nothing


# ---- by phone, by OutId ----------------------------------------------------------------------------


def test_by_phone_lists_a_numbers_states_across_sends_newest_first(storage):
    write(
        storage,
        report(phone=PHONE, biz_id="send-b", report_time="2026-11-25 09:00:00"),
        report(phone=PHONE, biz_id="send-a", report_time="2026-11-25 11:00:00", success=False, err_code="MK:0001"),
        report(phone=PHONE, biz_id="send-c", report_time="2026-11-24 08:00:00"),
        report(phone="13800000002", biz_id="send-a"),
    )
    states = lookups.by_phone(storage.backend, PHONE)
    assert [(s.biz_id, s.status, s.err_code) for s in states] == [
        ("send-a", "failed", "MK:0001"),
        ("send-b", "delivered", "DELIVERED"),
        ("send-c", "delivered", "DELIVERED"),
    ]
    assert states[0].as_dict() == {
        "biz_id": "send-a",
        "phone_number": PHONE,
        "status": "failed",
        "is_final": True,
        "success": False,
        "err_code": "MK:0001",
        "out_id": "order-1",
        "event_time": states[0].event_time,
        "updated_at": states[0].updated_at,
        "source": "http",
    }
    assert [s.biz_id for s in lookups.by_phone(storage.backend, PHONE, limit=2)] == ["send-a", "send-b"]
    assert lookups.by_phone(storage.backend, "13900000000") == []


def test_by_phone_follows_a_newer_report_and_by_out_id_its_new_out_id(storage):
    write(storage, report(phone=PHONE, biz_id="send-a", success=False, err_code="MK:0001", out_id="order-1"))
    write(storage, report(phone=PHONE, biz_id="send-a", report_time="2026-11-25 10:05:00", out_id="order-2"))
    (state,) = lookups.by_phone(storage.backend, PHONE)
    assert (state.status, state.out_id) == ("delivered", "order-2")
    assert lookups.by_out_id(storage.backend, "order-1") == []  # the index row moved with the state
    assert [s.status for s in lookups.by_out_id(storage.backend, "order-2")] == ["delivered"]


def test_by_out_id_lists_every_number_of_the_sends_that_carried_it(storage):
    write(
        storage,
        report(phone="13800000001", biz_id="send-a", out_id="order-7"),
        report(phone="13800000002", biz_id="send-a", out_id="order-7", report_time="2026-11-25 10:00:09"),
        report(phone="13800000003", biz_id="send-b", out_id="order-8"),
        report(phone="13800000004", biz_id="send-c", out_id=None),  # no OutId: in no OutId lookup
    )
    states = lookups.by_out_id(storage.backend, "order-7")
    assert [(s.biz_id, s.phone_number) for s in states] == [("send-a", "13800000002"), ("send-a", "13800000001")]
    assert lookups.by_out_id(storage.backend, "order-9") == []
    assert [s.biz_id for s in lookups.by_phone(storage.backend, "13800000004")] == ["send-c"]


def test_an_unknown_verdict_without_a_time_is_found_by_phone_and_out_id(storage):
    from sms_receipts.reconcile.answers import unresolved_receipt

    write(storage, unresolved_receipt("send-u", PHONE, "no report in 3 days", out_id="order-u"), source=Source.QUERY)
    (state,) = lookups.by_phone(storage.backend, PHONE)
    assert (state.status, state.event_time, state.source) == ("unknown", None, "query")
    assert lookups.by_out_id(storage.backend, "order-u") == [state]


# ---- a message's history ---------------------------------------------------------------------------


def test_history_is_a_messages_ledger_in_event_time_order_with_sources(storage):
    write(storage, report(phone=PHONE, biz_id="send-a", report_time="2026-11-25 10:00:09"), source=Source.EVENTBRIDGE)
    write(storage, report(phone=PHONE, biz_id="send-a", success=False, err_code="MK:0001"), source=Source.HTTP)
    write(storage, report(phone="13800000002", biz_id="send-a", report_time="2026-11-25 10:00:07"), source=Source.TOPIC)
    write(storage, report(phone=PHONE, biz_id="send-b"))
    entries = lookups.history(storage.backend, "send-a", PHONE)
    assert [(e.phone_number, e.status, e.source) for e in entries] == [
        (PHONE, "failed", "http"),
        (PHONE, "delivered", "eventbridge"),
    ]
    assert entries[0].record["err_code"] == "MK:0001" and entries[0].event_time < entries[1].event_time
    whole = lookups.history(storage.backend, "send-a")
    assert [(e.phone_number, e.source) for e in whole] == [
        (PHONE, "http"),
        ("13800000002", "topic"),
        (PHONE, "eventbridge"),
    ]
    assert lookups.history(storage.backend, "send-z") == []
    assert lookups.history(storage.backend, "send-a", "13900000000") == []


def test_history_reads_only_its_own_send_whatever_the_ids_hold(storage):
    # `|` and `\` are escaped in entity keys: "x" and "x|y" are two sends, and a report without a number
    # is its send's too (entity `SmsReport:<biz_id>|`)
    write(storage, report(phone="1|2", biz_id="x"), report(phone="3", biz_id="x|y"), report(phone=None, biz_id="x"))
    assert {(e.biz_id, e.phone_number) for e in lookups.history(storage.backend, "x")} == {("x", None), ("x", "1|2")}
    assert [(e.biz_id, e.phone_number) for e in lookups.history(storage.backend, "x|y")] == [("x|y", "3")]
    assert [e.phone_number for e in lookups.history(storage.backend, "x", "1|2")] == ["1|2"]


# ---- dead letters, pending sends -------------------------------------------------------------------


def test_recent_dead_letters_newest_first_with_reasons_and_no_raw_bytes(storage):
    now = int(time.time() * 1000)
    write(storage, {"biz_id": "b", "success": "perhaps"}, received_at=now - 3_600_000)
    write(storage, {"phone_number": PHONE}, received_at=now - 60_000)
    write(storage, {"biz_id": "c", "success": True, "send_time": "not a time"}, received_at=now)
    letters = lookups.recent_dead_letters(storage.backend, since_ms=now - 600_000)
    assert [letter.received_at for letter in letters] == [now, now - 60_000]
    assert all(letter.reason and letter.source == "http" for letter in letters)
    assert "raw" not in letters[0].as_dict()
    assert len(lookups.recent_dead_letters(storage.backend, since_ms=0, limit=2)) == 2
    assert lookups.recent_dead_letters(storage.backend, since_ms=now + 1) == []


def test_pending_sends_are_the_logged_sends_without_a_final_state(storage):
    now = time.time()
    sent = int((now - 3600) * 1000)
    sends = make_sends("send-p", [PHONE, "13800000002", "13800000003"], sent, out_id="order-p", source="import")
    sends += make_sends("send-old", ["13800000009"], int((now - 9 * 86400) * 1000), source="import")
    assert not SendLog(storage.store).record(sends).errors
    write(storage, report(phone=PHONE, biz_id="send-p"))  # delivered: final
    write(storage, {**report(phone="13800000002", biz_id="send-p"), "success": False, "err_code": "MK:0001"})
    pending = lookups.pending_sends(storage.backend, days=3, now=now)
    assert [p.as_dict() for p in pending] == [
        {
            "biz_id": "send-p",
            "phone_number": "13800000003",
            "send_time": sent,
            "send_day": pending[0].send_day,
            "out_id": "order-p",
        }
    ]
    assert [p.biz_id for p in lookups.pending_sends(storage.backend, days=10, now=now)] == ["send-old", "send-p"]
    assert lookups.pending_sends(storage.backend, days=3, now=now - 30 * 86400) == []
