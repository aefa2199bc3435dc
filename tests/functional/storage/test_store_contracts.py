"""Receipt contracts the real payloads showed (issue 9 §4), through the real store and the emulator:
re-audits ordered by their ticket, the legacy international report, and receipts without a phone number."""

from __future__ import annotations

import itertools

import pytest

from sms_receipts.parsing import MessageType
from sms_receipts.storage import DEAD_LETTER, DELIVERY_STATE, LEDGER, RECEIPT_STATE, Outcome
from sms_receipts.storage.rules import MAX_TICKET, TICKET_BAND, audit_version, state_change

from helpers import load_json
from store_support import parse, table_contents

T = MessageType
# approving → rejected (ticket 136924819), then modified and resubmitted: approving → approved (136945221),
# all with the template's one create_date.
REAUDIT = load_json("http/template_sms_report_reaudit.json")


def outcomes(result):
    return [o.outcome for o in result.outcomes]


def retyped(receipts, code):
    return [{**r, "template_code": code} for r in receipts]


def test_every_arrival_order_of_a_re_audit_ends_approved(store, backend):
    for number, order in enumerate(itertools.permutations(REAUDIT)):
        code = f"SMS_{number}"
        for receipt in retyped(order, code):
            items, rejected = parse([receipt], T.TEMPLATE_SMS_REPORT)
            assert rejected == []
            store.write(items)
        state = table_contents(backend, RECEIPT_STATE)[(f"TemplateSmsReport:{code}",)]
        assert (state["status"], state["is_final"]) == ("approved", True), order
    assert len(table_contents(backend, LEDGER)) == 4 * 24  # every receipt is kept, the stale ones too


def test_a_re_audit_in_one_push_in_any_order_ends_approved(store, backend):
    for number, order in enumerate(itertools.permutations(REAUDIT)):
        items, _ = parse(retyped(order, f"SMS_{number}"), T.TEMPLATE_SMS_REPORT)
        store.write(items)
    states = table_contents(backend, RECEIPT_STATE)
    assert {state["status"] for state in states.values()} == {"approved"} and len(states) == 24


@pytest.mark.parametrize("message_type", [T.SIGN_SMS_REPORT, T.TEMPLATE_SMS_REPORT])
@pytest.mark.parametrize("rejection_first", [True, False])
def test_a_rejection_and_the_resubmitted_approval_end_approved_in_both_orders(
    store, backend, message_type, rejection_first
):
    rejected, approved = REAUDIT[1], REAUDIT[3]
    if message_type is T.SIGN_SMS_REPORT:
        rejected, approved = (
            {
                "sign_name": "阿里云",
                "sign_status": r["template_status"],
                "order_id": r["order_id"],
                "create_date": r["create_date"],
            }
            for r in (rejected, approved)
        )
    first, second = (rejected, approved) if rejection_first else (approved, rejected)
    assert outcomes(store.write(parse([first], message_type)[0])) == [Outcome.STORED]
    assert outcomes(store.write(parse([second], message_type)[0])) == [
        Outcome.STORED if rejection_first else Outcome.STALE
    ]
    [state] = table_contents(backend, RECEIPT_STATE).values()
    assert (state["status"], state["is_final"]) == ("approved", True)


@pytest.mark.parametrize("order_id", [None, "", "200****5184"])
def test_without_a_numeric_ticket_an_approval_outranks_a_rejection_of_the_same_create_date(order_id):
    receipts = [{**r, "order_id": order_id} for r in (REAUDIT[1], REAUDIT[3])]
    for order in (receipts, receipts[::-1]):
        items, _ = parse(order, T.TEMPLATE_SMS_REPORT)
        best = max(items, key=lambda item: (state_change(item).version, item.idempotency_key))
        assert best.record.template_status == "approved"


def test_a_ticketed_receipt_outranks_a_ticketless_one_and_versions_fit_a_signed_64_bit_integer():
    assert audit_version(str(MAX_TICKET), 10**13, 15) == 2**63 - 1
    assert audit_version(str(MAX_TICKET + 1), 10**13, 3) == 10**13 * 16 + 3  # too large: create_date orders
    assert audit_version("0", None, 0) == TICKET_BAND > audit_version(None, 253402300799000, 15)  # year 9999
    assert audit_version("136945221", 0, 1) > audit_version("136924819", 0, 3)  # the later ticket wins
    assert audit_version("١٢٣", 5, 1) == audit_version(None, 5, 1)  # digits other than ASCII are no ticket


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [((2, 1), "approved"), ((1, 2), "approved"), ((0, 2), "rejected"), ((2, 0), "rejected"), ((0, 1), "approved")],
)
def test_card_template_audits_rank_approved_over_rejected_over_in_review(store, backend, statuses, expected):
    # MnsCardTemplate carries no time and no ticket (D-436128): the status rank alone decides.
    for status in statuses:
        store.write(
            parse([{"template_code": "CARD_SMS_1", "approval_status": status, "tmpOps": []}], T.MNS_CARD_TEMPLATE)[0]
        )
    state = table_contents(backend, RECEIPT_STATE)[("MnsCardTemplate:CARD_SMS_1",)]
    assert state["status"] == expected and state["is_final"] is True


def test_a_sms_report_without_phone_number_is_stored_not_dead_lettered_and_idempotent(store, backend):
    receipts = load_json("http/sms_report_without_phone_number.json")  # missing, null and "": one receipt
    items, rejected = parse(receipts)
    assert rejected == []
    assert outcomes(store.write(items, rejected)) == [Outcome.STORED, Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert outcomes(store.write(items)) == [Outcome.DUPLICATE] * 3
    assert list(table_contents(backend, LEDGER)) == [("SmsReport:706715193751989145^0|", items[0].idempotency_key)]
    # no state row is keyed by an empty phone_number: the state is kept under the entity key
    assert table_contents(backend, DELIVERY_STATE) == {} and table_contents(backend, DEAD_LETTER) == {}
    state = table_contents(backend, RECEIPT_STATE)[("SmsReport:706715193751989145^0|",)]
    assert (state["status"], state["is_final"], state["winner"]) == ("delivered", True, items[0].idempotency_key)


def test_a_reply_without_phone_number_is_stored_not_dead_lettered_and_idempotent(store, backend):
    items, rejected = parse(load_json("http/sms_up_without_phone_number.json"), T.SMS_UP)
    assert rejected == []
    assert outcomes(store.write(items)) == [Outcome.STORED]
    assert outcomes(store.write(items)) == [Outcome.DUPLICATE]
    assert list(table_contents(backend, LEDGER)) == [("SmsUp:|2493559|568585703", items[0].idempotency_key)]
    assert table_contents(backend, DEAD_LETTER) == {}


def test_legacy_international_reports_keep_the_final_status_whatever_the_order(store, backend):
    delivered, failed, pending = load_json("http/intl_sms_report_legacy_2019.json")
    later = {**pending, "PhoneNumber": delivered["PhoneNumber"]}  # "1 Submitted" for the delivered number
    assert outcomes(store.write(parse([delivered])[0])) == [Outcome.STORED]
    assert outcomes(store.write(parse([later])[0])) == [Outcome.STALE]  # sent 10:00:00, delivered 10:00:05
    assert outcomes(store.write(parse([failed, pending])[0])) == [Outcome.STORED, Outcome.STORED]
    states = table_contents(backend, RECEIPT_STATE)
    assert {key: (s["status"], s["is_final"], s["message_type"]) for key, s in states.items()} == {
        ("IntlSmsReport:108012345678^0|85212345678",): ("delivered", True, "IntlSmsReport"),
        ("IntlSmsReport:108012345678^0|85212345679",): ("failed", True, "IntlSmsReport"),
        ("IntlSmsReport:108012345678^0|85212345670",): ("pending", False, "IntlSmsReport"),
    }
