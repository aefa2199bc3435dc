"""The simulated SMS service in MNS mode: sends through the real dysmsapi SDK become Alicom queue
messages (real MNS SDK, MNS emulator), which the Alicom puller stores in the Tablestore emulator."""

from __future__ import annotations

import base64
import json

import pytest
from alibabacloud_dysmsapi20170525.models import SendSmsRequest

from sms_receipts import instance
from sms_receipts.mns.alicom import AlicomPuller, AlicomSettings, TokenSource
from sms_receipts.parsing import MessageType
from sms_receipts.storage import DELIVERY_STATE, LEDGER
from sms_receipts_dev.emulators.credentials import CredentialStore
from sms_receipts_dev.emulators.dybaseapi import DybaseapiEmulator
from sms_receipts_dev.emulators.dysmsapi import DysmsapiEmulator, ManualClock
from sms_receipts_dev.emulators.mns import MnsEmulator
from sms_receipts_dev.local.sms_service import AlicomQueueSink, SmsServiceSimulator

ACCOUNT_ID = "1234567890123456"
TYPES = (MessageType.SMS_REPORT, MessageType.SMS_UP)


@pytest.fixture
def service(storage_env):
    """The SMS service's side: its API (on a hand-moved clock), its MNS account with the Alicom queues,
    and the token API the puller asks."""
    credentials = CredentialStore()
    clock = ManualClock()
    with (
        DybaseapiEmulator(
            credentials=credentials, account_id=ACCOUNT_ID, message_types=[t.value for t in TYPES]
        ) as dybaseapi,
        MnsEmulator(credentials=credentials, account_id=ACCOUNT_ID) as mns,
        DysmsapiEmulator(credentials=credentials, clock=clock, delivery_delay=5) as sms,
    ):
        for queue in dybaseapi.queue_names().values():
            mns.create_queue(queue, visibility_timeout=30)
        yield dybaseapi, mns, sms, clock


def simulator(service, **rates) -> SmsServiceSimulator:
    dybaseapi, mns, sms, _ = service
    sink = AlicomQueueSink(mns.account(), dybaseapi.queue_names())
    return SmsServiceSimulator(sms.state.due_outcomes, sink=sink, messages=sms.state.messages, seed=7, **rates)


def pull(service) -> None:
    """One run of the Alicom puller function: drain both queues into the store."""
    dybaseapi, mns, _, _ = service
    settings = AlicomSettings(
        message_types=TYPES,
        account_id=ACCOUNT_ID,
        mns_endpoint=mns.endpoint,
        dybaseapi_endpoint=dybaseapi.address,
        dybaseapi_protocol="http",
        wait_seconds=1,
    )
    tokens = TokenSource(settings, (dybaseapi.access_key_id, dybaseapi.access_key_secret, None))
    reports = AlicomPuller(settings, tokens, instance.current().store()).pull(budget_seconds=20)
    assert {r.status for r in reports} == {"empty"}, reports


def rows(table):
    return list(instance.current().storage().backend.scan(table))


def send(sms, numbers: str, sign_name: str = "阿里云", **fields) -> str:
    request = SendSmsRequest(phone_numbers=numbers, sign_name=sign_name, template_code="SMS_1", **fields)
    body = sms.client().send_sms(request).body
    assert body.code == "OK", body.message
    return body.biz_id


def test_each_send_outcome_becomes_one_queue_message_and_ends_as_its_delivery_state(service):
    dybaseapi, mns, sms, clock = service
    sms.state.plan("13900000002", err_code="UNDELIV")
    send(sms, "13900000001,13900000002", out_id="order-1")
    send(sms, "13900000003")
    sim = simulator(service, dup_rate=1.0, reorder_rate=1.0)
    sim.run_once()
    assert sim.stats.outcomes == 0  # not due yet
    clock.advance(5)
    sim.run_once()
    assert (sim.stats.outcomes, sim.stats.duplicated, sim.stats.accepted) == (3, 3, 6) and sim.idle
    # On the wire: base64 of one UTF-8 JSON object per message, no array, no envelope.
    queue = mns.account().get_queue(dybaseapi.queue_names()["SmsReport"])
    queue.set_encoding(False)
    peeked = json.loads(base64.b64decode(queue.peek_message().message_body).decode("utf-8"))
    assert isinstance(peeked, dict) and peeked["biz_id"] and isinstance(peeked["success"], bool)

    pull(service)
    assert len(rows(LEDGER)) == 3  # every receipt sent twice, stored once
    states = {(r["biz_id"], r["phone_number"]): r for r in rows(DELIVERY_STATE)}
    outcomes = {(m.biz_id, m.phone_number): m.outcome for m in sms.state.messages()}
    assert states.keys() == outcomes.keys()
    for key, outcome in outcomes.items():
        assert (states[key]["success"], states[key]["err_code"]) == (outcome.success, outcome.err_code)
    assert states[next(k for k in states if k[1] == "13900000002")]["status"] == "failed"


def test_dropped_receipts_never_reach_the_queue(service):
    _, _, sms, clock = service
    send(sms, "13900000001,13900000002")
    sim = simulator(service, drop_rate=1.0)
    clock.advance(5)
    sim.run_once()
    assert (sim.stats.outcomes, sim.stats.dropped, sim.stats.pushes) == (2, 2, 0)
    pull(service)
    assert rows(LEDGER) == [] and rows(DELIVERY_STATE) == []  # only reconciliation can find them now


def test_a_reply_is_an_smsup_message_stored_in_the_ledger(service):
    _, _, sms, _ = service
    send(sms, "13900000004", sign_name="阿里云")
    sim = simulator(service)
    receipt = sim.reply("13900000004", "退订")
    assert receipt["sign_name"] == "【阿里云】"  # the last send's signature, as the real capture spells it
    assert isinstance(receipt["sequence_id"], int) and receipt["dest_code"].isdigit()
    assert len(receipt["send_time"]) == 19 and receipt["send_time"][4] == "-"  # yyyy-MM-dd HH:mm:ss
    other = sim.reply("13900000005", "hi", dest_code="8888")
    assert "sign_name" not in other and other["dest_code"] == "8888"  # never sent to: no signature
    sim.run_once()
    pull(service)
    ledger = {row["entity_key"]: row for row in rows(LEDGER)}
    key = f"SmsUp:13900000004|{receipt['dest_code']}|{receipt['sequence_id']}"
    assert ledger[key]["message_type"] == "SmsUp"
    assert json.loads(ledger[key]["raw"]) == receipt
    assert sum(row["message_type"] == "SmsUp" for row in ledger.values()) == 2


def test_a_failed_queue_send_is_tried_again_on_the_next_tick(service):
    dybaseapi, mns, sms, clock = service
    send(sms, "13900000006")
    sim = simulator(service)
    clock.advance(5)
    mns.deny(queue=dybaseapi.queue_names()["SmsReport"])
    sim.run_once()
    assert (sim.stats.pushes, sim.stats.accepted, sim.stats.repushes) == (1, 0, 1) and not sim.idle
    mns.clear_denials()
    sim.run_once()
    assert (sim.stats.pushes, sim.stats.accepted) == (2, 1) and sim.idle
    pull(service)
    assert len(rows(DELIVERY_STATE)) == 1
