"""Reconciliation end to end on the local stack: sends through the official SDK to the dysmsapi
emulator, the simulated service pushing their reports to the HTTP function while dropping,
duplicating and reordering them, then the reconciler. Afterwards every send holds its true final
state (the service's own outcome) and every distinct receipt is in the ledger once."""

from __future__ import annotations

import time

import pytest
from alibabacloud_dysmsapi20170525.models import SendBatchSmsRequest, SendSmsRequest

from sms_receipts.storage.sends import SendLog
from sms_receipts_dev.local.dev import DevStack, ServiceOptions

from service_checks import rows

SENDS = 30


def wait_until_idle(stack: DevStack, sends: int, seconds: float = 60.0) -> None:
    """Until every outcome fell due, was pushed (or dropped) and the service has nothing left."""
    deadline = time.monotonic() + seconds
    service = stack.sms_service
    assert service is not None
    while time.monotonic() < deadline:
        if service.stats.outcomes >= sends and service.idle:
            return
        time.sleep(0.05)
    raise AssertionError(f"the service is not idle: {service.stats}")


@pytest.mark.parametrize("delivery", ["http", "mns"])
def test_every_send_ends_in_its_true_state_with_nothing_stored_twice(tmp_path, delivery):
    options = ServiceOptions(
        delivery_delay=0.2, time_scale=0.001, dup_rate=0.3, reorder_rate=0.5, drop_rate=0.4, delivery=delivery
    )
    with DevStack(port=0, data_dir=tmp_path / "data", token="t", service=options, drain_seconds=None) as stack:
        if delivery == "mns":
            stack.start_puller()
        client = stack.dysmsapi.client()
        log = SendLog(stack.instance.store())
        stack.dysmsapi.state.plan("13900000003", err_code="MBBLACK")
        stack.dysmsapi.state.plan("13900000007", err_code="UNDELIV")
        numbers = 0
        for i in range(SENDS):
            phones = [f"139000000{(i + k) % 10:02d}" for k in range(1 + i % 3)]
            if i % 5 == 0:
                request = SendBatchSmsRequest(
                    phone_number_json=str(phones).replace("'", '"'),
                    sign_name_json=str(["阿里云"] * len(phones)).replace("'", '"'),
                    template_code="SMS_2",
                )
                response = client.send_batch_sms(request)
            else:
                request = SendSmsRequest(phone_numbers=",".join(phones), sign_name="阿里云", template_code="SMS_1")
                response = client.send_sms(request)
            assert log.record_sdk_call(request, response).confirmed
            numbers += len(phones)
        wait_until_idle(stack, numbers)
        if delivery == "mns":
            time.sleep(3)  # the puller's next rounds store what is on the queues
        assert stack.sms_service.stats.dropped > 0 and stack.sms_service.stats.duplicated > 0

        result = stack.reconcile_once(grace_seconds=0)

        report = result.report
        truth = {(m.biz_id, m.phone_number): m.outcome for m in stack.dysmsapi.state.messages()}
        assert report.scanned == numbers == len(truth)
        assert report.queried >= stack.sms_service.stats.dropped - stack.sms_service.stats.duplicated
        assert report.calls == report.queried and report.failed == report.left == report.unknown == 0
        prefix = stack.table_prefix
        reader = stack.tablestore.client()
        states = {(r["biz_id"], r["phone_number"]): r for r in rows(reader, prefix + "delivery_state")}
        assert set(states) == set(truth)
        for key, outcome in truth.items():
            assert states[key]["success"] is outcome.success, key
            assert states[key]["err_code"] == outcome.err_code, key
            assert states[key]["status"] == ("delivered" if outcome.success else "failed")
        ledger = rows(reader, prefix + "receipt_ledger")
        assert len(ledger) == len(truth)  # the answer *is* the report: one row each, whichever came
        assert {r["source"] for r in ledger} == {"query", "http" if delivery == "http" else "alicom"}
        (line,) = [line for line in result.days if line.logged]
        assert line.completeness == 1.0 and line.logged_share == 1.0
        assert stack.reconcile_once(grace_seconds=0).report.queried == 0  # nothing left to ask
