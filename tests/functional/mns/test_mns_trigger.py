"""The MNS-trigger function: EventBridge queue batches and topic notifications into Tablestore."""

from __future__ import annotations

import json
import uuid

import pytest

from sms_receipts import instance
from sms_receipts.mns.trigger import StorageNotConfirmed
from sms_receipts.storage import DEAD_LETTER, DELIVERY_STATE, LEDGER
from sms_receipts_dev.testing import events
from sms_receipts_dev.testing.fc import fc_context

from function_support import load_function


@pytest.fixture
def index(storage_env):
    return load_function("mns_receipt")


def rows(table):
    return list(instance.current().storage().backend.scan(table))


def report(phone="13800000001", report_time="2026-11-25 10:00:05", success=True):
    return {
        "phone_number": phone,
        "send_time": "2026-11-25 10:00:00",
        "report_time": report_time,
        "success": success,
        "err_code": "DELIVERED" if success else "UNDELIV",
        "err_msg": "用户接收成功",
        "sms_size": "1",
        "biz_id": "900619746936498440^0",
        "out_id": "o-1",
    }


def invoke(index, event):
    return index.handler(event, fc_context(f"mns-{uuid.uuid4().hex[:6]}"))


@pytest.mark.parametrize("base64_body", [False, True])
def test_an_eventbridge_batch_is_stored(index, base64_body):
    bodies = [report(phone=f"1380000{i:04d}") for i in range(10)]
    summary = invoke(index, events.eventbridge_event(bodies, queue_name="sms-report-queue", base64_body=base64_body))
    assert summary["stored"] == 10 and summary["messages"] == 10 and summary["trigger"] == "eventbridge"
    ledger = rows(LEDGER)
    assert {row["source"] for row in ledger} == {"eventbridge"}
    assert all(row["message_id"] for row in ledger)


def test_event_driven_mode_delivers_one_cloud_event(index):
    summary = invoke(index, events.eventbridge_event([report()], streaming=False))
    assert summary["stored"] == 1


def test_a_batch_with_some_bad_messages_stores_the_good_and_dead_letters_the_bad(index):
    bodies = [report(), "not json at all", {"biz_id": "1"}, report(phone="13800000002")]
    summary = invoke(index, events.eventbridge_event(bodies))
    assert (summary["stored"], summary["dead_lettered"], summary["failed"]) == (2, 2, 0)
    dead = rows(DEAD_LETTER)
    assert b"not json at all" in {bytes(r["raw"]) for r in dead}  # the message body, byte for byte
    assert {r["source"] for r in dead} == {"eventbridge"}


def test_the_same_batch_delivered_again_is_all_duplicates(index):
    event = events.eventbridge_event([report(), report(phone="13800000002")])
    invoke(index, event)
    summary = invoke(index, event)
    assert (summary["stored"], summary["duplicate"]) == (0, 2)
    assert len(rows(LEDGER)) == 2


def test_topic_json_and_stream_formats(index):
    assert invoke(index, events.topic_event_json(report(phone="13800000003"), topic_name="sms-report"))["stored"] == 1
    assert invoke(index, events.topic_event_stream(report(phone="13800000004")))["stored"] == 1
    assert invoke(index, events.topic_event_stream(report(phone="13800000005"), attributes={"k": "v"}))["stored"] == 1
    assert {row["source"] for row in rows(LEDGER)} == {"topic"}
    assert len(rows(DELIVERY_STATE)) == 3


def test_the_type_comes_from_configuration_per_queue(index, storage_env, fresh_instance):
    # SmsUp and SmsReport look alike enough that a reply is told by the queue it came from
    reply = {
        "phone_number": "13800000001",
        "content": "好的",
        "send_time": "2026-11-25 10:00:00",
        "dest_code": "1234",
        "sequence_id": "42",
    }
    env = {**storage_env, "SMS_RECEIPTS_MNS_SOURCE_TYPES": "replies=SmsUp, reports=SmsReport"}
    fresh_instance(env)
    summary = invoke(index, events.eventbridge_event([reply], queue_name="replies"))
    assert summary["message_types"] == ["SmsUp"]
    fresh_instance({**env, "SMS_RECEIPTS_MNS_MESSAGE_TYPE": "SmsReport"})
    summary = invoke(index, events.eventbridge_event([reply], queue_name="replies"))
    assert summary["dead_lettered"] == 1  # the function's explicit type wins: not a report


def test_storage_failure_makes_the_invocation_raise(index, emulator, monkeypatch):
    emulator.faults.set(api="BatchWriteRow", server_busy=1.0)
    context = fc_context("failing")
    context.function.timeout = 1  # the store gives up within the function's time
    with pytest.raises(StorageNotConfirmed, match="deliver the batch again"):
        index.handler(events.eventbridge_event([report()]), context)
    emulator.faults.clear()
    assert index.handler(events.eventbridge_event([report()]), context)["stored"] == 1


def test_one_log_line_per_invocation_with_masked_phones(index, caplog):
    with caplog.at_level("INFO", logger="sms_receipts"):
        invoke(index, events.eventbridge_event([report(phone="13812345678")]))
    lines = [r.getMessage() for r in caplog.records if r.name == "sms_receipts.mns"]
    assert len(lines) == 1 and json.loads(lines[0])["event"] == "mns_batch"
    assert "13812345678" not in " ".join(r.getMessage() for r in caplog.records)
