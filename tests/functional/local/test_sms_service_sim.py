"""The SMS service's side of `make dev`: a send through the official SDK becomes a pushed SmsReport, and
a user's reply a pushed SmsUp."""

from __future__ import annotations

import json
import time

import pytest

from sms_receipts.send import send
from sms_receipts.storage import DELIVERY_STATE, LEDGER
from sms_receipts.storage.schema import SEND_LOG
from sms_receipts_dev.local.dev import DevStack, ServiceOptions
from sms_receipts_dev.local.sms_service import SMS_REPORT, SMS_UP, HttpCallbackSink, SmsServiceSimulator

from function_support import ROOT


@pytest.fixture(autouse=True)
def in_the_project(monkeypatch):
    monkeypatch.chdir(ROOT)  # the stack serves functions/http_receipt/index.py from the project


def rows(stack, table):
    return list(stack.instance.storage().backend.scan(table))


def wait_for(predicate, seconds=20.0):
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.1)
    return predicate()


def test_a_send_is_recorded_and_its_reports_are_pushed_and_stored(tmp_path):
    options = ServiceOptions(delivery_delay=0.2, dup_rate=1.0, reorder_rate=1.0, time_scale=0.001)
    with DevStack(port=0, data_dir=tmp_path / "data", token="t", service=options) as stack:
        endpoints = json.loads((stack.data_dir / "endpoints.json").read_text())
        assert {"endpoint", "access_key_id", "access_key_secret"} <= set(endpoints["dysmsapi"])
        line = send("13800000001,13800000002", "阿里云", "SMS_1", '{"code":"1234"}', "order-9", stack.data_dir)
        assert line["numbers"] == 2 and line["recorded"] is True
        assert sorted(r["phone_number"] for r in rows(stack, SEND_LOG)) == ["13800000001", "13800000002"]
        assert wait_for(lambda: len(rows(stack, DELIVERY_STATE)) == 2)
        assert wait_for(lambda: stack.sms_service.stats.accepted >= 1 and stack.sms_service.idle)
        stats = stack.sms_service.stats
        assert stats.outcomes == 2 and stats.duplicated == 2 and stats.given_up == 0
        assert len(rows(stack, LEDGER)) == 2  # every receipt pushed twice, stored once
        states = {r["phone_number"]: r for r in rows(stack, DELIVERY_STATE)}
        assert {s["biz_id"] for s in states.values()} == {line["biz_id"]}
        assert {s["out_id"] for s in states.values()} == {"order-9"}


def test_dropped_receipts_are_never_pushed(tmp_path):
    options = ServiceOptions(delivery_delay=0.1, drop_rate=1.0)
    with DevStack(port=0, data_dir=tmp_path / "data", token="t", service=options) as stack:
        send("13800000003", "阿里云", "SMS_1", None, None, stack.data_dir)
        assert wait_for(lambda: stack.sms_service.stats.outcomes == 1)
        assert stack.sms_service.stats.dropped == 1 and stack.sms_service.stats.pushes == 0
        assert rows(stack, LEDGER) == []  # only reconciliation can find it now


def test_a_reply_is_pushed_to_the_smsup_callback_url_and_stored_as_smsup(tmp_path):
    with DevStack(port=0, data_dir=tmp_path / "data", token="t", service=ServiceOptions(delivery_delay=0.1)) as stack:
        stack.sms_service.stop()  # this test's simulator, which has the SmsUp URL, delivers instead
        sink = HttpCallbackSink({t: stack.callback_url(t) for t in (SMS_REPORT, SMS_UP)})
        state = stack.dysmsapi.state
        sim = SmsServiceSimulator(state.due_outcomes, sink=sink, messages=state.messages, tick=0.05).start()
        try:
            send("13800000007", "阿里云", "SMS_1", None, None, stack.data_dir)
            assert wait_for(lambda: len(rows(stack, DELIVERY_STATE)) == 1)
            receipt = sim.reply("13800000007", "收到，谢谢")
            assert wait_for(lambda: any(r["message_type"] == "SmsUp" for r in rows(stack, LEDGER)))
        finally:
            sim.stop()
        [stored] = [r for r in rows(stack, LEDGER) if r["message_type"] == "SmsUp"]
        assert json.loads(stored["raw"]) == receipt and receipt["sign_name"] == "【阿里云】"
        assert (sim.stats.replies, sim.stats.accepted, sim.stats.given_up) == (1, 2, 0)


def test_a_simulator_without_an_smsup_destination_says_so_on_reply():
    sim = SmsServiceSimulator(lambda: [], "http://127.0.0.1:9/SmsReport")
    with pytest.raises(ValueError, match="SmsUp"):
        sim.reply("13800000007", "hi")


def test_bad_params_and_a_stopped_stack_say_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="JSON object"):
        send("13800000001", "s", "T", "[1]", None, tmp_path)
    with pytest.raises(ValueError, match="make dev"):
        send("13800000001", "s", "T", None, None, tmp_path / "nothing-here")
