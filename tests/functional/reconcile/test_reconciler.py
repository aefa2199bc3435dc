"""The reconciler against the dysmsapi and Tablestore emulators, through the official SDKs: each test
sends through SendSms, records the send as a sender does, lets the service's outcomes fall due on
the shared ManualClock, and checks the tables afterwards."""

from __future__ import annotations

import json
import time

import pytest

from sms_receipts.parsing import MessageType, Source, decode_items
from sms_receipts.parsing.models import UNRESOLVED_ERR_CODE
from sms_receipts.reconcile.reconciler import send_log_figures
from sms_receipts.storage.schema import DELIVERY_STATE, LEDGER

A, B, C = "13800000001", "13800000002", "13800000003"
HOUR = 3600.0


def states(storage) -> dict[tuple[str, str], dict]:
    return {(r["biz_id"], r["phone_number"]): r for r in storage.backend.scan(DELIVERY_STATE)}


def ledger(storage) -> list[dict]:
    return list(storage.backend.scan(LEDGER))


def push_report(storage, receipt: dict) -> str:
    """The real report arriving, as the HTTP function stores it; its store outcome."""
    decoded = decode_items([receipt], MessageType.SMS_REPORT, Source.HTTP)
    (outcome,) = storage.store.write(decoded.items).outcomes
    return outcome.outcome.value


def outcome_of(sms, biz_id: str, phone: str):
    (message,) = [m for m in sms.state.messages(biz_id) if m.phone_number == phone]
    return message.outcome


def test_answers_resolve_delivered_and_failed_sends_and_the_awaited_stay_pending(
    sender, sms, make_reconciler, clock, storage
):
    sms.state.plan(B, err_code="UNDELIV")
    sms.state.plan(C, delay=10 * HOUR)  # the carrier has not reported yet
    biz_id = sender.send([A, B, C], out_id="order-7")
    clock.advance(1800)

    report = make_reconciler().run(30)

    assert (report.scanned, report.queried, report.resolved, report.awaiting) == (3, 3, 2, 1)
    assert report.calls == 3 and report.complete and not report.errors
    found = states(storage)
    assert found[(biz_id, A)]["status"] == "delivered" and found[(biz_id, A)]["err_code"] == "DELIVERED"
    assert found[(biz_id, B)]["status"] == "failed" and found[(biz_id, B)]["err_code"] == "UNDELIV"
    assert found[(biz_id, A)]["out_id"] == "order-7"
    assert (biz_id, C) not in found  # still awaited: nothing is stored for it
    rows = ledger(storage)
    assert {r["source"] for r in rows} == {"query"} and len(rows) == 2
    kept = json.loads(rows[0]["raw"])["query"]  # the detail the answer came from, kept for replay
    assert kept["SendStatus"] in (2, 3) and kept["PhoneNum"] in (A, B)
    figures = report.days[next(iter(d for d, f in report.days.items() if f.logged))]
    assert (figures.logged, figures.final, figures.statuses["pending"]) == (3, 2, 1)


def test_a_send_younger_than_the_grace_period_is_not_queried(sender, sms, make_reconciler, clock, storage):
    sender.send([A])
    clock.advance(600)  # past the outcome, but its receipts may still be on their way

    report = make_reconciler().run(30)  # default grace: 20 minutes

    assert (report.too_young, report.queried, report.calls) == (1, 0, 0)
    assert not states(storage)


@pytest.mark.parametrize("first", ["answer", "report"])
def test_the_answer_and_the_real_report_are_one_receipt_whichever_comes_first(
    first, sender, sms, make_reconciler, clock, storage
):
    biz_id = sender.send([A])
    clock.advance(1800)
    receipt = outcome_of(sms, biz_id, A).receipt()

    if first == "report":
        assert push_report(storage, receipt) == "stored"
        report = make_reconciler(grace_seconds=0).run(30)
        assert (report.already_final, report.queried, report.calls) == (1, 0, 0)
    else:
        report = make_reconciler().run(30)
        assert report.resolved == 1
        assert push_report(storage, receipt) == "duplicate"  # the answer *was* this report

    (row,) = ledger(storage)
    assert row["source"] == ("http" if first == "report" else "query")
    state = states(storage)[(biz_id, A)]
    assert state["status"] == "delivered" and state["is_final"] is True


def test_a_report_after_the_answer_orders_by_its_time_as_two_reports_do(sender, sms, make_reconciler, clock, storage):
    sms.state.plan(B, err_code="UNDELIV")
    biz_id = sender.send([A, B])
    clock.advance(1800)
    assert make_reconciler().run(30).resolved == 2
    answered = states(storage)

    # A's report says a minute later than the detail: it wins. B's says earlier: kept, but stale.
    later = outcome_of(sms, biz_id, A).receipt()
    later["report_time"] = later["report_time"][:-5] + "59:59"
    earlier = outcome_of(sms, biz_id, B).receipt()
    earlier["report_time"] = earlier["send_time"]
    assert push_report(storage, later) == "stored"
    assert push_report(storage, earlier) == "stale"

    found = states(storage)
    assert found[(biz_id, A)]["winner"] != answered[(biz_id, A)]["winner"]
    assert found[(biz_id, A)]["source"] == "http" and found[(biz_id, A)]["status"] == "delivered"
    assert found[(biz_id, B)] == answered[(biz_id, B)]  # the answer still holds B: its report is older
    assert len(ledger(storage)) == 4  # each distinct receipt once, whichever path it came by


def test_a_final_state_is_never_queried_again_nor_made_pending(sender, sms, make_reconciler, clock, storage):
    biz_id = sender.send([A])
    clock.advance(1800)
    assert make_reconciler().run(30).resolved == 1
    before = states(storage)[(biz_id, A)]

    for _ in range(2):
        clock.advance(HOUR)
        report = make_reconciler().run(30)
        assert (report.already_final, report.queried, report.calls) == (1, 0, 0)
    assert states(storage)[(biz_id, A)] == before
    assert len(ledger(storage)) == 1


def test_a_send_unresolved_at_its_maximum_age_gets_unknown_and_a_late_report_still_wins(
    sender, sms, make_reconciler, clock, storage
):
    sms.state.plan(A, delay=100 * HOUR)  # the service awaits the carrier past the window
    biz_id = sender.send([A, B])
    sms.state.clear_plans()
    # C's send is unknown to the service on any day: a send the sender logged but never made.
    sender.log.record(sender.log_sends("8888^0", [C]))
    clock.advance(1800)

    first = make_reconciler().run(30)
    assert (first.resolved, first.awaiting, first.unknown) == (1, 2, 0)  # pending, but not yet given up

    clock.advance(72 * HOUR)
    report = make_reconciler().run(30)

    assert report.unknown == 2 and report.queried == 2
    found = states(storage)
    assert found[(biz_id, A)]["status"] == "unknown" and found[(biz_id, A)]["is_final"] is True
    assert found[(biz_id, A)]["err_code"] == UNRESOLVED_ERR_CODE
    reasons = {
        json.loads(r["raw"])["phone_number"]: json.loads(r["raw"])["err_msg"]
        for r in ledger(storage)
        if json.loads(r["raw"]).get("err_code") == UNRESOLVED_ERR_CODE
    }
    assert "still awaits" in reasons[A] and "no record" in reasons[C]
    assert make_reconciler().run(30).queried == 0  # unknown is final: not asked again

    clock.advance(30 * HOUR)  # the report comes after all (redelivered, replayed...)
    assert push_report(storage, outcome_of(sms, biz_id, A).receipt()) == "stored"
    assert states(storage)[(biz_id, A)]["status"] == "delivered"


def test_throttled_calls_back_off_and_every_send_is_resolved_with_one_answer(
    sender, sms, make_reconciler, clock, storage
):
    numbers = [f"1390000{i:04d}" for i in range(60)]
    biz_id = sender.send(numbers)
    clock.advance(1800)
    sms.faults.reseed(7)
    sms.faults.set(api="QuerySendDetails", server_busy=0.3)  # 503 ServiceUnavailable: slow down

    report = make_reconciler(concurrency=8).run(60)

    assert report.throttled > 0 and report.calls == 60 + report.throttled
    assert (report.resolved, report.failed) == (60, 0)
    assert {k[1] for k, r in states(storage).items() if k[0] == biz_id and r["status"] == "delivered"} == set(numbers)
    assert len(ledger(storage)) == 60


def test_a_run_that_fails_midway_leaves_the_rest_and_the_rerun_finishes_storing_nothing_twice(
    emulator, sender, sms, make_reconciler, clock, storage
):
    numbers = [f"1370000{i:04d}" for i in range(30)]
    biz_id = sender.send(numbers)
    clock.advance(1800)
    emulator.faults.reseed(3)
    emulator.faults.set(api="BatchWriteRow", server_busy=1.0)  # storage down while the answers come

    broken = make_reconciler().run(5)
    assert broken.failed == 30 and broken.resolved == 0 and broken.errors

    emulator.faults.clear()
    rerun = make_reconciler().run(30)
    again = make_reconciler().run(30)

    assert rerun.resolved == 30 and again.queried == 0
    assert len([k for k in states(storage) if k[0] == biz_id]) == 30
    assert len(ledger(storage)) == 30


def test_a_run_out_of_time_leaves_the_rest_for_the_next(sender, sms, make_reconciler, clock, storage):
    numbers = [f"1360000{i:04d}" for i in range(40)]
    sender.send(numbers)
    clock.advance(1800)
    sms.faults.set(api="QuerySendDetails", slow=1.0)
    sms.faults.slow_delay = 0.05

    short = make_reconciler(concurrency=2).run(0.3)
    assert short.left > 0 and not short.complete and short.resolved + short.left + short.failed <= 40

    sms.faults.clear()
    rest = make_reconciler().run(30)
    assert short.resolved + rest.resolved == 40 and rest.left == 0


def test_a_send_logged_just_before_midnight_is_found_on_the_services_day(sender, sms, make_reconciler, clock, storage):
    clock.now = 1_796_659_205.0  # 00:00:05 China time
    biz_id = sender.send([A], record=False)
    sender.log.record(sender.log_sends(biz_id, [A], sent_at=clock.now - 20))  # the sender's clock: 23:59:45
    clock.advance(1800)

    report = make_reconciler().run(30)

    assert report.resolved == 1 and report.calls == 2  # its logged day, then the next
    assert states(storage)[(biz_id, A)]["status"] == "delivered"


def test_a_send_logged_twice_at_two_times_is_asked_about_once(sender, sms, make_reconciler, clock, storage):
    clock.now = 1_796_659_205.0  # 00:00:05 China time
    biz_id = sender.send([A])  # recorded at the service's time, today...
    sender.log.record(sender.log_sends(biz_id, [A], sent_at=clock.now - 20))  # ...and by hand, yesterday
    clock.advance(1800)

    report = make_reconciler().run(30)

    # Yesterday's row is read first: asked there (nothing), then on the next day (found); today's row
    # is the same send, not asked again.
    assert (report.scanned, report.queried, report.already_asked, report.calls) == (2, 1, 1, 2)
    assert report.resolved == 1 and len(ledger(storage)) == 1


def test_figures_and_completeness_count_the_send_log_against_the_services_statistics(
    sender, sms, make_reconciler, clock, storage
):
    from sms_receipts.reconcile.completeness import completeness

    sms.state.plan(B, err_code="UNDELIV")
    biz_id = sender.send([A, B])
    unlogged = sms.client()  # a send the sender did not record: the service counts it, the log does not
    from alibabacloud_dysmsapi20170525.models import SendSmsRequest

    unlogged.send_sms(SendSmsRequest(phone_numbers=C, sign_name="阿里云", template_code="SMS_1"))
    clock.advance(1800)
    reconciler = make_reconciler()
    report = reconciler.run(30)
    day = next(d for d, f in report.days.items() if f.logged)

    statistics = reconciler.api.send_statistics(day, day, deadline=float("inf"))
    (line,) = [line for line in completeness(report.days.values(), statistics) if line.day == day]
    assert (line.service_total, line.service_final, line.logged, line.stored_final) == (3, 3, 2, 2)
    assert line.completeness == round(2 / 3, 4) and line.logged_share == round(2 / 3, 4)
    figures = send_log_figures(storage.backend, [day])[day]
    assert (figures.logged, figures.final, dict(figures.statuses)) == (2, 2, {"delivered": 1, "failed": 1})
    assert biz_id


def test_the_gateways_flow_control_is_ridden_out_by_backing_off(sender, sms, make_reconciler, clock, storage):
    from sms_receipts_dev.emulators.rpc.server import FlowControl

    numbers = [f"1350000{i:04d}" for i in range(60)]
    biz_id = sender.send(numbers)
    clock.advance(1800)
    # 20 QuerySendDetails a (real) second at the gateway, against a reconciler allowed 500.
    sms.flow_control = FlowControl(None, {"QuerySendDetails": 20}, time.monotonic)

    report = make_reconciler(concurrency=8).run(60)

    assert sms.flow_control.refused > 0 and report.throttled == sms.flow_control.refused
    assert report.calls == 60 + report.throttled and (report.resolved, report.failed) == (60, 0)
    assert len([k for k in states(storage) if k[0] == biz_id]) == 60
