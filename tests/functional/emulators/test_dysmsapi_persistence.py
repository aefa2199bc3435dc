"""The dysmsapi emulator with a data dir: what the real SDK sent is still there after a restart."""

from __future__ import annotations

import json
import signal
from datetime import datetime

from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_dysmsapi20170525.models import (
    QuerySendDetailsRequest,
    QuerySendStatisticsRequest,
    SendBatchSmsRequest,
    SendSmsRequest,
)
from alibabacloud_tea_openapi.models import Config

from sms_receipts_dev.emulators.dysmsapi import BEIJING, DysmsapiEmulator, DysmsapiState, ManualClock

from helpers import standalone_emulator

START = datetime(2026, 11, 25, 10, 0, tzinfo=BEIJING).timestamp()
TODAY = "20261125"
NUMBERS = ["13800000000", "13900000001", "13900000002"]


def send(client, numbers: str, out_id: str = ""):
    request = SendSmsRequest(phone_numbers=numbers, sign_name="阿里云", template_code="SMS_1", out_id=out_id)
    return client.send_sms(request).body


def send_batch(client, numbers: list[str]):
    request = SendBatchSmsRequest(
        phone_number_json=json.dumps(numbers),
        sign_name_json=json.dumps(["云通信"] * len(numbers)),
        template_code="SMS_2",
        template_param_json=json.dumps([{"name": str(i)} for i in range(len(numbers))]),
    )
    return client.send_batch_sms(request).body


def details(client, number: str, biz_id: str | None = None) -> list[tuple]:
    request = QuerySendDetailsRequest(phone_number=number, send_date=TODAY, page_size=50, current_page=1, biz_id=biz_id)
    body = client.query_send_details(request).body
    assert body.code == "OK"
    return [
        (d.out_id, d.send_status, d.err_code, d.content, d.template_code, d.send_date, d.receive_date)
        for d in body.sms_send_detail_dtos.sms_send_detail_dto
    ]


def statistics(client) -> list[tuple]:
    request = QuerySendStatisticsRequest(is_globe=1, start_date=TODAY, end_date=TODAY, page_index=1, page_size=50)
    body = client.query_send_statistics(request).body
    assert body.code == "OK"
    return [
        (t.send_date, t.total_count, t.responded_success_count, t.responded_fail_count, t.no_responded_count)
        for t in body.data.target_list
    ]


def everything(client, biz_ids: list[str]) -> dict:
    """What the queries answer: every number's details, per BizId too, and the day's counts."""
    return {
        "details": {number: details(client, number) for number in NUMBERS},
        "by_biz_id": {biz_id: details(client, NUMBERS[0], biz_id) for biz_id in biz_ids},
        "statistics": statistics(client),
    }


def test_sends_details_statistics_and_outcomes_survive_a_restart(tmp_path):
    clock = ManualClock(START)
    with DysmsapiEmulator(data_dir=tmp_path, clock=clock, delivery_delay=5) as sms:
        client = sms.client()
        sms.state.plan(NUMBERS[1], err_code="UNDELIV")
        sms.state.plan(NUMBERS[2], delay=60)
        first = send(client, ",".join(NUMBERS), out_id="o-1").biz_id
        clock.advance(1)
        batch = send_batch(client, NUMBERS[:2]).biz_id
        clock.advance(4)  # the first send's two 5 s outcomes are due; the batch's fall due at +6
        handed = sms.state.due_outcomes()
        assert [(o.biz_id, o.phone_number) for o in handed] == [(first, NUMBERS[0]), (first, NUMBERS[1])]
        before = everything(client, [first, batch])
    assert before["statistics"] == [(TODAY, 5, 1, 1, 3)]  # the batch still awaits its reports

    with DysmsapiEmulator(data_dir=tmp_path, clock=clock, delivery_delay=5) as sms:
        client = sms.client()
        assert everything(client, [first, batch]) == before
        assert [(m.biz_id, m.phone_number, m.handed_out) for m in sms.state.messages()] == [
            (first, NUMBERS[0], True),
            (first, NUMBERS[1], True),
            (first, NUMBERS[2], False),
            (batch, NUMBERS[0], False),
            (batch, NUMBERS[1], False),
        ]
        assert sms.state.due_outcomes() == []  # nothing handed out twice, nothing new due yet
        clock.advance(1)
        after_restart = sms.state.due_outcomes()
        assert [(o.biz_id, o.phone_number, o.err_code) for o in after_restart] == [
            (batch, NUMBERS[0], "DELIVERED"),
            (batch, NUMBERS[1], "UNDELIV"),  # planned before the restart, decided when sent
        ]
        assert after_restart[0].receipt()["send_time"] == "2026-11-25 10:00:01"
        third = send(client, NUMBERS[0]).biz_id
        assert third not in (first, batch) and sms.state.sends[-1].biz_id == third

    with DysmsapiEmulator(data_dir=tmp_path, clock=clock, delivery_delay=5) as sms:
        assert [send.biz_id for send in sms.state.sends] == [first, batch, third]
        assert [send.action for send in sms.state.sends] == ["SendSms", "SendBatchSms", "SendSms"]
        assert sms.state.due_outcomes() == []  # handed out after the first restart: not again
        clock.advance(60)
        assert [(o.biz_id, o.phone_number) for o in sms.state.due_outcomes()] == [
            (third, NUMBERS[0]),  # due at +11
            (first, NUMBERS[2]),  # the 60 s one, sent before the first restart, due at +60
        ]
        assert statistics(sms.client()) == [(TODAY, 6, 4, 2, 0)]
        assert sms.state.due_outcomes() == []


def test_each_call_is_committed_before_it_returns(tmp_path):
    """No stop, no close: another state opening the file (as after kill -9) sees the send and the hand-out."""
    clock = ManualClock(START)
    with DysmsapiEmulator(data_dir=tmp_path, clock=clock, delivery_delay=5) as sms:
        biz_id = send(sms.client(), ",".join(NUMBERS[:2])).biz_id
        reader = DysmsapiState(data_dir=tmp_path, clock=clock)
        assert [m.handed_out for m in reader.messages()] == [False, False]
        reader.close()
        clock.advance(5)
        assert len(sms.state.due_outcomes()) == 2
        reader = DysmsapiState(data_dir=tmp_path, clock=clock)
        assert [(m.biz_id, m.handed_out) for m in reader.messages()] == [(biz_id, True), (biz_id, True)]
        assert reader.due_outcomes() == []
        reader.close()


def test_biz_ids_continue_their_sequence_even_at_the_same_millisecond(tmp_path):
    clock = ManualClock(START)  # never moves: only the sequence tells the BizIds apart
    with DysmsapiEmulator(data_dir=tmp_path, clock=clock) as sms:
        old = [send(sms.client(), NUMBERS[0]).biz_id for _ in range(3)]
    with DysmsapiEmulator(data_dir=tmp_path, clock=clock) as sms:
        new = [send(sms.client(), NUMBERS[0]).biz_id for _ in range(3)]
        assert len(set(old + new)) == 6
        assert len(details(sms.client(), NUMBERS[0])) == 6


def test_without_a_data_dir_nothing_outlives_the_emulator(tmp_path):
    clock = ManualClock(START)
    with DysmsapiEmulator(clock=clock) as sms:
        biz_id = send(sms.client(), NUMBERS[0]).biz_id
        sms.stop()  # the in-memory database stays while the state lives
        sms.start()
        assert [m.biz_id for m in sms.state.messages()] == [biz_id]
    with DysmsapiEmulator(clock=clock) as sms:
        assert sms.state.messages() == [] and details(sms.client(), NUMBERS[0]) == []
    assert list(tmp_path.iterdir()) == []


def test_standalone_data_dir_keeps_sends_for_the_next_emulator(tmp_path):
    with standalone_emulator("dysmsapi", ["--port", "0", "--data-dir", str(tmp_path), "--delivery-delay", "0"]) as (
        process,
        info,
    ):
        config = Config(
            access_key_id=info["access_key_id"],
            access_key_secret=info["access_key_secret"],
            endpoint=info["endpoint"],
            protocol="http",
        )
        biz_id = send(Client(config), NUMBERS[0]).biz_id
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    with DysmsapiEmulator(data_dir=tmp_path) as restarted:
        [message] = restarted.state.messages()
        assert (message.biz_id, message.phone_number) == (biz_id, NUMBERS[0])
        assert [outcome.biz_id for outcome in restarted.state.due_outcomes()] == [biz_id]
